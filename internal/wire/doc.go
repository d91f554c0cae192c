// Package wire holds the generated wire layer of every served AWS service: one package
// per service (internal/wire/<service>) with its stripped botocore model, the Go types
// of its shapes and the API interface its handler implements. Nothing under it is
// written by hand except this file; regenerate with go generate.
package wire

//go:generate go run ../apigen -out .
