package scenarios

import (
	"errors"
	"strings"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// locateSyntaxError finds where a file that yaml.v3 rejects is broken, by
// line and column, and says what to fix. yaml.v3 names a line only, and
// for an unclosed bracket or quote often the line where its context began
// or one before the problem; goccy/go-yaml's parser points at the token.
// ok is false when that parser does not report a syntax error either (the
// caller then falls back to yaml.v3's message).
func locateSyntaxError(src []byte) (pos Position, msg string, ok bool) {
	defer func() {
		if recover() != nil { // a parser bug must not turn bad input into a crash
			ok = false
		}
	}()
	_, err := parser.ParseBytes(src, 0)
	var se *goccy.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil || se.Token.Position.Line < 1 {
		return Position{}, "", false
	}
	p := se.Token.Position
	msg = strings.ReplaceAll(se.Message, "\t", `\t`)
	if h := syntaxHint(se.Message, se.Token.Value); h != "" {
		msg += " (" + h + ")"
	}
	return Position{Line: p.Line, Col: max(p.Column, 1)}, msg, true
}

// syntaxHint says what usually fixes a syntax error with this message.
func syntaxHint(msg, tok string) string {
	switch {
	case strings.Contains(msg, "']'") && tok == "[":
		return "this [ list is never closed: add the ']' that ends it"
	case strings.Contains(msg, "']'"):
		return "a [ list opened before this point is not closed: add the ']' that ends it, or a ',' between its items"
	case strings.Contains(msg, "'}'") && tok == "{":
		return "this { mapping is never closed: add the '}' that ends it"
	case strings.Contains(msg, "'}'"):
		return "a { mapping opened before this point is not closed: add the '}' that ends it, or a ',' between its entries"
	case strings.Contains(msg, "'\t'") || strings.Contains(tok, "\t"):
		return "YAML indents with spaces: replace the tab"
	case strings.Contains(msg, "quoted"):
		return "the quote opened here is never closed: add the closing quote"
	case strings.Contains(msg, "not allowed in this context"), strings.Contains(msg, "indent"):
		return "check the indentation: the entries of one list or mapping start in the same column"
	case strings.Contains(msg, "mapping value"):
		return "a ': ' inside a value: quote the value, or check the indentation"
	}
	return ""
}
