package regress

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"time"
)

// JUnit XML, in the shape of the Jenkins/Surefire junit.xsd that CI tools
// read: testsuites > testsuite > testcase, with failure and error elements
// and time attributes in seconds.

// JUnitSuites is the <testsuites> root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr,omitempty"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one <testsuite>.
type JUnitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr,omitempty"`
	Hostname  string          `xml:"hostname,attr,omitempty"`
	Cases     []JUnitTestCase `xml:"testcase"`
}

// JUnitTestCase is one <testcase>.
type JUnitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
}

// JUnitProblem is a <failure> or <error>.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// JUnit builds the JUnit document of outcomes.
func JUnit(outcomes []Outcome) JUnitSuites {
	host, _ := os.Hostname()
	suite := JUnitSuite{
		Name:      "regress",
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05"),
		Hostname:  host,
		Cases:     []JUnitTestCase{},
	}
	var total time.Duration
	for _, o := range outcomes {
		total += o.Wall
		tc := JUnitTestCase{
			Name:      o.Case.Name,
			Classname: "regress." + string(o.Case.Kind),
			Time:      seconds(o.Wall),
		}
		switch {
		case o.Err != nil:
			suite.Errors++
			tc.Error = &JUnitProblem{Message: o.Err.Error(), Type: "bad-input", Text: o.Err.Error()}
		case !o.Pass:
			suite.Failures++
			tc.Failure = &JUnitProblem{
				Message: fmt.Sprintf("expected %s, got %s", o.Expected, o.Got),
				Type:    "regression",
				Text:    o.Detail,
			}
		}
		suite.Tests++
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Time = seconds(total)
	return JUnitSuites{
		Name:     "quorate regress",
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Errors:   suite.Errors,
		Time:     suite.Time,
		Suites:   []JUnitSuite{suite},
	}
}

// WriteJUnit writes the JUnit XML of outcomes to w.
func WriteJUnit(w io.Writer, outcomes []Outcome) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnit(outcomes)); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
