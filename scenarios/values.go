package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// byteSize is a size as written in a scenario: "1KiB", "512B" or a bare
// number of bytes. It exists so the decode hook can recognise the field.
type byteSize int64

// rate is an operation rate as written in a scenario: "200/s" or a bare
// number of operations per second.
type rate float64

var (
	durationType = reflect.TypeOf(time.Duration(0))
	sizeType     = reflect.TypeOf(byteSize(0))
	rateType     = reflect.TypeOf(rate(0))
)

// bareNumberRE matches a number written without a unit.
var bareNumberRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]*)?$`) })

// nameRE is what node, switch and guest names look like.
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`) })

// parseDuration reads a Go duration string. A bare number is refused with a
// hint, because corosync.conf counts milliseconds and a scenario must not
// silently read `token: 3000` as 3000 nanoseconds (or seconds).
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if bareNumberRE().MatchString(s) && s != "0" {
		return 0, bareNumber(s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write it like 250us, 1.5ms, 3s or 2m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; durations here are >= 0", s)
	}
	return d, nil
}

func bareNumber(s string) error {
	return fmt.Errorf("%s has no unit: write %sms (corosync.conf counts milliseconds) "+
		"or use another unit (us, ms, s, m)", s, s)
}

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads "64KiB", "1MiB", "512B" or "4096".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a size (write it like 512B, 64KiB, 1MiB or a number of bytes)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	v := f * float64(mult)
	if v != math.Trunc(v) || v > 1<<40 {
		return 0, fmt.Errorf("%q is not a whole number of bytes up to 1TiB", s)
	}
	return int64(v), nil
}

// parseRate reads "200/s" or "200" (operations per second).
func parseRate(s string) (float64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSpace(strings.TrimSuffix(t, "/s"))
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate (write it like 200/s or 200)", s)
	}
	return f, nil
}

// decodeHook is the mapstructure hook the loader gives viper. Weak typing is
// off, so without it mapstructure would accept `token: 3000` as 3000ns, a
// float where an integer is wanted (truncating it) and an integer that
// overflows its field; with it each of those is an error naming the value.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	switch to {
	case durationType:
		switch v := data.(type) {
		case string:
			return parseDuration(v)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%v is not a duration", v)
			}
			if v != 0 {
				return nil, bareNumber(strconv.FormatFloat(v, 'f', -1, 64))
			}
			return time.Duration(0), nil
		case int, int64, uint64:
			if s := fmt.Sprint(v); s != "0" {
				return nil, bareNumber(s)
			}
			return time.Duration(0), nil
		}
		return data, nil
	case sizeType:
		switch v := data.(type) {
		case string:
			n, err := parseSize(v)
			return byteSize(n), err
		case int, int64, uint64, float64:
			n, err := parseSize(fmt.Sprint(v))
			return byteSize(n), err
		}
		return data, nil
	case rateType:
		switch v := data.(type) {
		case string:
			f, err := parseRate(v)
			return rate(f), err
		case int:
			return rate(v), nil
		case float64:
			return rate(v), nil
		}
		return data, nil
	}
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strictInt(data, to)
	case reflect.Bool:
		switch data.(type) {
		case int, float64, string:
			return nil, fmt.Errorf("%s is not a boolean; write true or false", quoteIfString(data))
		}
	case reflect.String:
		switch data.(type) {
		case int, int64, uint64, float64, bool:
			return nil, fmt.Errorf("%v is not text; put it in quotes (\"%v\") if that is what you mean", data, data)
		}
	case reflect.Float32, reflect.Float64:
		if s, ok := data.(string); ok {
			return nil, fmt.Errorf("%q is not a number", s)
		}
	}
	return data, nil
}

// strictInt converts YAML numbers to an integer field, refusing fractions,
// negative values for unsigned fields, and values that do not fit.
func strictInt(data any, to reflect.Type) (any, error) {
	unsigned := to.Kind() >= reflect.Uint && to.Kind() <= reflect.Uint64
	bits := to.Bits()
	var f float64
	switch v := data.(type) {
	case string:
		return nil, fmt.Errorf("%q is not a whole number", v)
	case bool:
		return nil, fmt.Errorf("%v is not a whole number", v)
	case int:
		if unsigned && v < 0 {
			return nil, fmt.Errorf("%d is negative; this field cannot be", v)
		}
		if !unsigned && bits < 64 && (v < -(1<<(bits-1)) || v > 1<<(bits-1)-1) {
			return nil, fmt.Errorf("%d is out of range", v)
		}
		if unsigned && bits < 64 && uint64(v) > 1<<bits-1 {
			return nil, fmt.Errorf("%d is out of range", v)
		}
		return data, nil
	case uint64:
		if !unsigned || bits < 64 {
			return nil, fmt.Errorf("%d is out of range", v)
		}
		return data, nil
	case float64:
		f = v
	default:
		return data, nil
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%v is not a whole number", f)
	}
	if f < -(1<<62) || f > 1<<62 || (unsigned && f < 0) {
		return nil, fmt.Errorf("%v is out of range", f)
	}
	return strictInt(int(f), to)
}

func quoteIfString(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// formatDuration prints a duration compactly: 2m rather than 2m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatFloat prints a metric bound without a needless fraction.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ParseSize reads a size as scenarios write it ("512MiB", "4GiB", a number
// of bytes), for flags that take one.
func ParseSize(s string) (int64, error) { return parseSize(s) }
