// Command bannin is the watchman: CloudTrail, Config, CloudWatch, EventBridge, SNS and
// SSM Automation for an organisation, over the AWS wire protocols, in one binary.
package main

import (
	"fmt"
	"os"
)

const usage = `bannin: AWS governance services in one binary

Usage:
  bannin serve [--addr 127.0.0.1:4566] [--data-dir ./bannin-data] [--region us-east-1] [--account-id 000000000000] [--dev] [--event-retention 2160h] [--smtp-url smtp://host:port]
  bannin env [--data-dir ./bannin-data]          print the root credentials as shell exports
  bannin import [--data-dir DIR] [--log-group NAME] PATH...
                                                  load CloudTrail log files into event history (or a log group)
  bannin cis install --email ADDRESS [--endpoint-url URL] [--period 300]
                                                  set up the CIS monitoring alarms on a running server
  bannin events export --format csv|json [--start-time T] [--end-time T] [--lookup-attribute Key=Value]
  bannin version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		err = serve(args)
	case "env":
		err = env(args)
	case "import":
		err = importLogs(args)
	case "events":
		if len(args) == 0 || args[0] != "export" {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		err = exportEvents(args[1:])
	case "cis":
		if len(args) == 0 || args[0] != "install" {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		err = cisInstall(args[1:])
	case "version":
		fmt.Println("bannin", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "bannin: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bannin:", err)
		os.Exit(1)
	}
}
