package connect

import "time"

// timeValue accepts the Go forms of Connect's Date, Time and Timestamp.
func timeValue(v any) (time.Time, bool) {
	t, ok := v.(time.Time)
	return t, ok
}
