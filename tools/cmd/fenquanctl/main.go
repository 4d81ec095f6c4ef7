// Command fenquanctl operates Fenquan: apply the catalogue of powers and flows from a file,
// read resources, draw flows, and (in development) mint tokens.
package main

import (
	"fmt"
	"os"

	"github.com/fenquan/fenquan/tools/internal/ctl"
)

func main() {
	if err := ctl.New().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fenquanctl:", err)
		os.Exit(1)
	}
}
