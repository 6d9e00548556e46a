package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// allowedImports is the standard library the engine may use: nothing that
// reads a clock, draws global randomness, starts goroutines or does I/O.
// `time` is allowed for time.Duration values; the calls below are not.
var allowedImports = map[string]bool{
	"errors": true, "fmt": true, "slices": true, "maps": true, "sort": true,
	"bytes": true, "strings": true, "strconv": true, "math": true, "math/bits": true,
	"encoding/binary": true, "hash/crc32": true, "container/heap": true, "cmp": true,
	"time": true, "unicode/utf8": true,
}

var forbiddenCalls = map[string]bool{
	"time.Now": true, "time.Sleep": true, "time.After": true, "time.AfterFunc": true,
	"time.Tick": true, "time.NewTimer": true, "time.NewTicker": true, "time.Since": true, "time.Until": true,
}

// TestPurity keeps engine/ a deterministic state machine: it fails on any
// import outside the allowed set, on wall-clock calls, and on goroutines,
// channels and select, in every non-test file under engine/.
func TestPurity(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if !allowedImports[p] && !strings.HasPrefix(p, "github.com/quorate/quorate/engine") {
				t.Errorf("%s: engine imports %q", fset.Position(im.Pos()), p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: goroutine in the engine", fset.Position(n.Pos()))
			case *ast.SelectStmt:
				t.Errorf("%s: select in the engine", fset.Position(n.Pos()))
			case *ast.ChanType:
				t.Errorf("%s: channel in the engine", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+n.Sel.Name] {
					t.Errorf("%s: %s.%s in the engine", fset.Position(n.Pos()), id.Name, n.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
