package transforms

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func TestTimestampConverter(t *testing.T) {
	const tv = "org.apache.kafka.connect.transforms.TimestampConverter$Value"
	ms := ts0.UnixMilli()
	day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	tod := time.Date(1970, 1, 1, 14, 7, 9, 123_000_000, time.UTC)
	tsS := &connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1}
	dateS := &connect.Schema{Type: connect.Int32, Name: connect.DateName, Version: 1}
	timeS := &connect.Schema{Type: connect.Int32, Name: connect.TimeName, Version: 1}
	withTS := strct("id", prim(connect.String), "at", prim(connect.Int64))
	runCases(t, []tcase{
		{name: "unix to Timestamp", class: tv, cfg: map[string]string{"target.type": "Timestamp"}, in: rec(ms), want: rec(ts0)},
		{name: "unix to string", class: tv, cfg: map[string]string{"target.type": "string", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"},
			in: rec(ms), want: rec("2024-03-05T14:07:09.123Z")},
		{name: "string to unix", class: tv, cfg: map[string]string{"target.type": "unix", "format": "yyyy-MM-dd HH:mm:ss"},
			in: rec("2024-03-05 14:07:09"), want: rec(ts0.Truncate(time.Second).UnixMilli())},
		{name: "string with offset to unix", class: tv, cfg: map[string]string{"target.type": "unix", "format": "yyyy-MM-dd'T'HH:mm:ssZ"},
			in: rec("2024-03-05T16:07:09+0200"), want: rec(ts0.Truncate(time.Second).UnixMilli())},
		{name: "Timestamp to Date", class: tv, cfg: map[string]string{"target.type": "Date"}, in: rec(ts0), want: rec(day)},
		{name: "Timestamp to Time", class: tv, cfg: map[string]string{"target.type": "Time"}, in: rec(ts0), want: rec(tod)},
		{name: "unix seconds", class: tv, cfg: map[string]string{"target.type": "unix", "unix.precision": "seconds"}, in: rec(ts0), want: rec(ts0.Unix())},
		{name: "unix micros in", class: tv, cfg: map[string]string{"target.type": "Timestamp", "unix.precision": "microseconds"}, in: rec(ts0.UnixMicro()), want: rec(ts0)},
		{name: "json float unix", class: tv, cfg: map[string]string{"target.type": "Timestamp"}, in: rec(float64(ms)), want: rec(ts0)},
		{name: "field schemaless", class: tv, cfg: map[string]string{"target.type": "string", "field": "at", "format": "dd/MM/yyyy"},
			in: rec(m{"id": "a", "at": ms}), want: rec(m{"id": "a", "at": "05/03/2024"})},
		{name: "field schemaless missing", class: tv, cfg: map[string]string{"target.type": "unix", "field": "zz"},
			in: rec(m{"id": "a"}), wantErr: `TimestampConverter$Value: field "zz" not found`},
		{name: "string without format", class: tv, cfg: map[string]string{"target.type": "unix"},
			in: rec("2024"), wantErr: "format is required to parse string timestamp"},
		{name: "unparsable string", class: tv, cfg: map[string]string{"target.type": "unix", "format": "yyyy-MM-dd"},
			in: rec("yesterday"), wantErr: `could not parse timestamp "yesterday" with format "yyyy-MM-dd"`},
		{name: "wrong type", class: tv, cfg: map[string]string{"target.type": "unix"},
			in: rec(true), wantErr: "TimestampConverter$Value: expected a timestamp (Unix number, string or Timestamp), found bool"},
		{name: "schema field to Timestamp", class: tv, cfg: map[string]string{"target.type": "Timestamp", "field": "at"},
			in: recS(withTS, m{"id": "a", "at": ms}), want: recS(strct("id", prim(connect.String), "at", tsS), m{"id": "a", "at": ts0})},
		{name: "schema whole Timestamp to Date", class: tv, cfg: map[string]string{"target.type": "Date"},
			in:   recS(&connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Optional: true}, ts0),
			want: recS(&connect.Schema{Type: connect.Int32, Name: connect.DateName, Version: 1, Optional: true}, day)},
		{name: "schema Time", class: tv, cfg: map[string]string{"target.type": "Time"}, in: recS(prim(connect.Int64), ms), want: recS(timeS, tod)},
		{name: "schema Date to string", class: tv, cfg: map[string]string{"target.type": "string", "format": "EEE, d MMM yyyy"},
			in: recS(dateS, day), want: recS(prim(connect.String), "Tue, 5 Mar 2024")},
		{name: "schema null value", class: tv, cfg: map[string]string{"target.type": "unix"}, in: recS(opt(connect.String), nil), want: recS(opt(connect.Int64), nil)},
		{name: "schema not a timestamp", class: tv, cfg: map[string]string{"target.type": "unix"}, in: recS(prim(connect.Float64), 1.0),
			wantErr: "TimestampConverter$Value: schema float64 () is not a timestamp type"},
		{name: "key", class: "TimestampConverter$Key", cfg: map[string]string{"target.type": "unix"}, in: keyRec(ts0), want: keyRec(ms)},
	})
	if _, err := configure(t, tv, map[string]string{"target.type": "string"}); err == nil || !contains(err.Error(), "format") {
		t.Errorf("string target without format: err = %v", err)
	}
	if _, err := configure(t, tv, map[string]string{"target.type": "Epoch"}); err == nil {
		t.Error("unknown target type: want an error")
	}
}

func TestDateFormat(t *testing.T) {
	tm := time.Date(2024, 3, 5, 4, 7, 9, 123_456_789, time.UTC)
	for _, tc := range []struct{ pattern, want, err string }{
		{pattern: "yyyyMMdd", want: "20240305"},
		{pattern: "yy-M-d HH:m:s", want: "24-3-5 04:7:9"},
		{pattern: "H:mm", err: "only as HH"},
		{pattern: "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", want: "2024-03-05T04:07:09.123Z"},
		{pattern: "yyyy-MM-dd'T'HH:mm:ss,SSSSSSX", want: "2024-03-05T04:07:09,123456Z"},
		{pattern: "EEEE, MMMM dd yyyy hh:mm a z", want: "Tuesday, March 05 2024 04:07 AM UTC"},
		{pattern: "DDD 'day' ''yy", want: "065 day '24"},
		{pattern: "HHmmss", want: "040709"},
		{pattern: "", err: "empty"},
		{pattern: "yyyy-ww", err: "pattern letter 'w' is not supported"},
		{pattern: "ss SSS", err: "must follow '.'"},
		{pattern: "'at 1' HH", err: "digits"},
		{pattern: "'Month' MM", err: "contains \"Mon\""},
		{pattern: "Ms", err: "ambiguous"},
		{pattern: "'open", err: "unterminated quote"},
		{pattern: "yyyy_MM", err: "'_'"},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			f, err := parseDateFormat(tc.pattern)
			if tc.err != "" {
				if err == nil || !contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.format(tm); got != tc.want {
				t.Fatalf("format = %q, want %q (layout %q)", got, tc.want, f.layout)
			}
			if _, err := f.parse(tc.want); err != nil {
				t.Fatalf("parse(%q): %v", tc.want, err)
			}
		})
	}
}
