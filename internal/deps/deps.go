//go:build tools

// Package deps pins modules the build needs before code imports them.
package deps

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/cockroachdb/datadriven"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "gonum.org/v1/gonum/stat/distuv"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
