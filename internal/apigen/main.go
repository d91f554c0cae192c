// Command apigen generates the wire packages under internal/wire from botocore's
// service models: for each served service a stripped model.json, the Go types of its
// shapes, and the API interface with the adapter the gateway calls. The output is
// committed, so building bannin never needs Python or botocore.
//
// Usage:
//
//	go run ./internal/apigen [-botocore DIR] [-out internal/wire]
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// services are the botocore service names bannin serves.
var services = []string{
	"cloudtrail", "cloudtrail-data", "config", "logs", "cloudwatch", "events", "sns", "ssm",
	"organizations", "iam", "sts", "s3", "kms", "ec2",
}

func main() {
	botocoreDir := flag.String("botocore", "", "botocore package directory (default: found with python3)")
	out := flag.String("out", "internal/wire", "output directory (the internal/wire package)")
	flag.Parse()
	if err := run(*botocoreDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apigen:", err)
		os.Exit(1)
	}
}

func run(botocoreDir, out string) error {
	if botocoreDir == "" {
		dir, err := findBotocore()
		if err != nil {
			return err
		}
		botocoreDir = dir
	}
	files, err := generate(botocoreDir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(out, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// findBotocore asks the pip Python where botocore is installed.
func findBotocore() (string, error) {
	cmd := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("find botocore with python3 (or pass -botocore): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

var versionRE = regexp.MustCompile(`(?m)^__version__ = ['"]([^'"]+)['"]`)

// botocoreVersion reads __version__ from botocore's __init__.py.
func botocoreVersion(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "__init__.py"))
	if err != nil {
		return "", fmt.Errorf("botocore version: %w", err)
	}
	m := versionRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("botocore version: no __version__ in %s", dir)
	}
	return string(m[1]), nil
}

// generate returns every generated file, keyed by its path relative to internal/wire.
func generate(botocoreDir string) (map[string][]byte, error) {
	version, err := botocoreVersion(botocoreDir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var pkgs []string
	for _, svc := range services {
		raw, err := readModel(botocoreDir, svc)
		if err != nil {
			return nil, err
		}
		stripped, err := strip(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", svc, err)
		}
		pkg := strings.ReplaceAll(svc, "-", "")
		g, err := newGen(svc, pkg, version, stripped)
		if err != nil {
			return nil, err
		}
		typesGo, err := g.typesFile()
		if err != nil {
			return nil, err
		}
		apiGo, err := g.apiFile()
		if err != nil {
			return nil, err
		}
		files[pkg+"/model.json"] = stripped
		files[pkg+"/types.go"] = typesGo
		files[pkg+"/api.go"] = apiGo
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	servicesGo, err := servicesFile(version, pkgs)
	if err != nil {
		return nil, err
	}
	files["services.go"] = servicesGo
	return files, nil
}

// readModel reads data/<svc>/<latest version>/service-2.json.gz.
func readModel(botocoreDir, svc string) ([]byte, error) {
	dir := filepath.Join(botocoreDir, "data", svc)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", svc, err)
	}
	var versions []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "service-2.json.gz")); err == nil {
				versions = append(versions, e.Name())
			}
		}
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("%s: no service-2.json.gz under %s", svc, dir)
	}
	sort.Strings(versions)
	p := filepath.Join(dir, versions[len(versions)-1], "service-2.json.gz")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", svc, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", svc, p, err)
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, zr); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", svc, p, err)
	}
	return b.Bytes(), nil
}
