package calendar

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// at parses "2006-01-02 15:04" in CST.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// endOf returns the due time ending the date "2006-01-02": 23:59:59.999 CST.
func endOf(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05.000", s+" 23:59:59.999", Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAddWorkdays(t *testing.T) {
	c := Default()
	tests := []struct {
		name  string
		start string // CST
		n     int
		want  string // the due date; due at its end
	}{
		// Weekends (an ordinary March week of 2025).
		{"Monday +1", "2025-03-03 10:00", 1, "2025-03-04"},
		{"Monday +5 crosses a weekend", "2025-03-03 10:00", 5, "2025-03-10"},
		{"Friday evening +1 is Monday", "2025-03-07 18:30", 1, "2025-03-10"},
		{"Friday +3", "2025-03-07 09:00", 3, "2025-03-12"},
		{"before 09:00 counting still starts the next day", "2025-03-04 07:00", 1, "2025-03-05"},
		{"just after midnight", "2025-03-04 00:00", 1, "2025-03-05"},
		{"just before midnight", "2025-03-04 23:59", 1, "2025-03-05"},
		{"two weeks", "2025-03-03 10:00", 10, "2025-03-17"},

		// A holiday in the week.
		{"元旦 2025 (Wed) skipped", "2024-12-31 15:00", 1, "2025-01-02"},
		{"清明 2026 Monday skipped", "2026-04-03 15:00", 1, "2026-04-07"},
		{"端午 2024 Monday skipped", "2024-06-07 15:00", 1, "2024-06-11"},
		{"端午 2025 Monday skipped", "2025-05-30 15:00", 1, "2025-06-03"},
		{"中秋 2026 Friday skipped", "2026-09-24 15:00", 1, "2026-09-28"},

		// Make-up working days count.
		{"make-up Sunday 2025-04-27", "2025-04-25 16:00", 1, "2025-04-27"},
		{"past the make-up Sunday", "2025-04-25 16:00", 2, "2025-04-28"},
		{"make-up Sunday then 劳动节", "2025-04-25 16:00", 5, "2025-05-06"},
		{"make-up Saturday 2025-10-11", "2025-10-10 16:00", 1, "2025-10-11"},
		{"make-up Saturday 2025-02-08", "2025-02-07 16:00", 1, "2025-02-08"},
		{"make-up Saturday 2024-05-11", "2024-05-10 16:00", 1, "2024-05-11"},
		{"make-up Sunday 2026-01-04", "2026-01-02 10:00", 1, "2026-01-04"},

		// The Spring Festival golden week of 2025: 1-28 (除夕) to 2-4 rest, 1-26 and 2-8 work.
		{"春节 2025: 3 days from the day before", "2025-01-27 09:00", 3, "2025-02-07"},
		{"春节 2025: 4 days reach the make-up Saturday", "2025-01-27 09:00", 4, "2025-02-08"},
		{"春节 2025: 5 days", "2025-01-27 09:00", 5, "2025-02-10"},
		{"春节 2025: Friday before, make-up Sunday first", "2025-01-24 17:00", 1, "2025-01-26"},
		{"春节 2025: Friday before +3", "2025-01-24 17:00", 3, "2025-02-05"},
		// The National Day golden week of 2025: 10-1 to 10-8 rest, 9-28 and 10-11 work.
		{"国庆 2025: 3 days from the day before", "2025-09-30 11:00", 3, "2025-10-11"},
		{"国庆 2025: 4 days from the day before", "2025-09-30 11:00", 4, "2025-10-13"},
		{"国庆 2025: Friday before, make-up Sunday first", "2025-09-26 11:00", 1, "2025-09-28"},
		{"国庆 2025: Friday before +4", "2025-09-26 11:00", 4, "2025-10-09"},
		// 2024's 除夕 (2-9, a Friday) was not a holiday: the notice only encouraged leave.
		{"春节 2024: 除夕 works", "2024-02-08 10:00", 1, "2024-02-09"},
		{"春节 2024: then 2-18 (Sunday) works", "2024-02-09 10:00", 1, "2024-02-18"},
		// 2026's Spring Festival: 2-15 to 2-23 rest, 2-14 and 2-28 work.
		{"春节 2026", "2026-02-13 10:00", 2, "2026-02-24"},

		// Start on a rest day.
		{"start Saturday", "2025-03-08 10:00", 1, "2025-03-10"},
		{"start Sunday", "2025-03-09 22:00", 1, "2025-03-10"},
		{"start inside 国庆", "2025-10-03 10:00", 1, "2025-10-09"},
		{"start on a holiday Sunday", "2025-05-04 10:00", 2, "2025-05-07"},

		// n = 0: the end of the start's own day, working day or not.
		{"n=0 on a working day", "2025-03-05 10:00", 0, "2025-03-05"},
		{"n=0 on a Saturday", "2025-03-08 10:00", 0, "2025-03-08"},
		{"n=0 on a holiday", "2025-10-01 10:00", 0, "2025-10-01"},

		// Year boundaries: 2026's 元旦 is 1-1 to 1-3 with Sunday 1-4 working.
		{"2025-12-30 +5", "2025-12-30 10:00", 5, "2026-01-07"},
		{"2025-12-30 +2 is the make-up Sunday", "2025-12-30 10:00", 2, "2026-01-04"},
		{"2024-12-31 +5", "2024-12-31 10:00", 5, "2025-01-08"},
		// Into 2027, which has no data: weekends only, so 2027-01-01 counts.
		{"2026-12-30 +5 into an unknown year", "2026-12-30 10:00", 5, "2027-01-06"},

		// Long limits.
		{"a year of working days in 2025", "2024-12-31 10:00", 248, "2025-12-31"},
		{"365 working days from 2025 (248 + 117)", "2025-01-01 10:00", 365, "2026-06-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkdays(at(t, tt.start), tt.n)
			want := endOf(t, tt.want)
			if !got.Equal(want) || got.Location() != Location() {
				t.Errorf("AddWorkdays(%s, %d) = %v, want %v", tt.start, tt.n, got, want)
			}
		})
	}
}

func TestAddWorkdaysTimeZone(t *testing.T) {
	c := Default()
	tests := []struct {
		name  string
		start time.Time
		n     int
		want  string
	}{
		// 16:30 UTC Thursday is 00:30 CST Friday: Friday's next working day is Monday.
		{"UTC evening is CST next morning", time.Date(2025, 3, 6, 16, 30, 0, 0, time.UTC), 1, "2025-03-10"},
		{"UTC morning, same day", time.Date(2025, 3, 6, 1, 0, 0, 0, time.UTC), 1, "2025-03-07"},
		// 2025-09-30 20:00 in New York is 2025-10-01 08:00 CST: a holiday.
		{"another zone", time.Date(2025, 9, 30, 20, 0, 0, 0, time.FixedZone("EDT", -4*3600)), 0, "2025-10-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkdays(tt.start, tt.n)
			if want := endOf(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkdays(%v, %d) = %v, want %v", tt.start, tt.n, got, want)
			}
		})
	}
}

func TestIsWorkday(t *testing.T) {
	c := Default()
	tests := []struct {
		date string
		want bool
	}{
		{"2025-03-05", true},  // Wednesday
		{"2025-03-08", false}, // Saturday
		{"2025-03-09", false}, // Sunday
		{"2025-01-01", false}, // 元旦, Wednesday
		{"2025-01-26", true},  // make-up Sunday
		{"2025-01-28", false}, // 除夕 2025, a holiday since the 2024 revision of the rules
		{"2025-02-04", false}, // 正月初七
		{"2025-02-05", true},
		{"2025-02-08", true}, // make-up Saturday
		{"2025-04-26", false},
		{"2025-04-27", true}, // make-up Sunday
		{"2025-05-05", false},
		{"2025-10-08", false}, // 国庆、中秋 merged, Wednesday
		{"2025-10-11", true},
		{"2024-02-09", true}, // 除夕 2024 was a working day
		{"2024-02-18", true},
		{"2024-10-07", false},
		{"2026-01-02", false},
		{"2026-01-04", true},
		{"2026-02-23", false},
		{"2026-02-28", true},
		{"2026-09-20", true},
		{"2026-10-10", true},
		{"2027-01-01", true},  // unknown year: weekends only
		{"2023-10-02", true},  // unknown year (a holiday in reality): weekends only
		{"2027-01-02", false}, // unknown year, Saturday
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			if got := c.IsWorkday(at(t, tt.date+" 12:00")); got != tt.want {
				t.Errorf("IsWorkday(%s) = %v, want %v", tt.date, got, tt.want)
			}
		})
	}
}

func TestAddHours(t *testing.T) {
	c := Default()
	tests := []struct {
		name  string
		start time.Time
		h     int
		want  time.Time
	}{
		{"through the National Day holiday", at(t, "2025-09-30 16:00"), 72, at(t, "2025-10-03 16:00")},
		{"zero", at(t, "2025-09-30 16:05"), 0, at(t, "2025-09-30 16:05")},
		{"over a weekend", at(t, "2025-03-07 18:00"), 8, at(t, "2025-03-08 02:00")},
		{"across the year", at(t, "2025-12-31 20:00"), 5, at(t, "2026-01-01 01:00")},
		{"the largest emergency limit (2920 h)", at(t, "2025-01-01 00:00"), 2920, at(t, "2025-05-02 16:00")},
		{"from UTC", time.Date(2025, 3, 7, 10, 0, 0, 0, time.UTC), 1, at(t, "2025-03-07 19:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddHours(tt.start, tt.h)
			if !got.Equal(tt.want) || got.Location() != Location() {
				t.Errorf("AddHours(%v, %d) = %v, want %v", tt.start, tt.h, got, tt.want)
			}
			if d := got.Sub(tt.start); d != time.Duration(tt.h)*time.Hour {
				t.Errorf("elapsed %v, want %d h", d, tt.h)
			}
		})
	}
}

func TestWorkdaysBetween(t *testing.T) {
	c := Default()
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"same instant", at(t, "2025-03-05 10:00"), at(t, "2025-03-05 10:00"), 0},
		{"due day itself", endOf(t, "2025-03-05"), at(t, "2025-03-05 10:00"), 0},
		{"next working day", endOf(t, "2025-03-05"), at(t, "2025-03-06 08:00"), 1},
		{"due Friday, now Saturday", endOf(t, "2025-03-07"), at(t, "2025-03-08 10:00"), 0},
		{"due Friday, now Monday", endOf(t, "2025-03-07"), at(t, "2025-03-10 10:00"), 1},
		{"over 国庆 2025", endOf(t, "2025-09-30"), at(t, "2025-10-09 10:00"), 1},
		{"over 国庆 2025 to the make-up Saturday", endOf(t, "2025-09-30"), at(t, "2025-10-11 10:00"), 3},
		{"over 春节 2025", at(t, "2025-01-27 09:00"), at(t, "2025-02-10 09:00"), 5},
		{"over the year end", at(t, "2025-12-30 10:00"), at(t, "2026-01-07 10:00"), 5},
		{"reversed", at(t, "2025-02-10 09:00"), at(t, "2025-01-27 09:00"), -5},
		{"whole 2024", at(t, "2023-12-31 12:00"), at(t, "2024-12-31 12:00"), 251},
		{"whole 2025", at(t, "2024-12-31 12:00"), at(t, "2025-12-31 12:00"), 248},
		{"whole 2026", at(t, "2025-12-31 12:00"), at(t, "2026-12-31 12:00"), 248},
		{"whole 2027, weekends only", at(t, "2026-12-31 12:00"), at(t, "2027-12-31 12:00"), 261},
		// Timestamps are compared by their CST day: 15:59 UTC is 23:59 CST, 16:00 UTC the next day.
		{"UTC times", time.Date(2025, 3, 6, 15, 59, 0, 0, time.UTC), time.Date(2025, 3, 6, 16, 0, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.WorkdaysBetween(tt.from, tt.to); got != tt.want {
				t.Errorf("WorkdaysBetween(%v, %v) = %d, want %d", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// Each year's net extra rest days on weekdays (weekday holidays less make-up days) are its
// statutory holidays: 11 days until 2024, 13 from 2025 (全国年节及纪念日放假办法, 2024 revision).
func TestDefaultStatutoryDays(t *testing.T) {
	weekendsOnly, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	for _, tt := range []struct{ year, want int }{{2024, 11}, {2025, 13}, {2026, 13}} {
		t.Run(time.Date(tt.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
			from := time.Date(tt.year-1, 12, 31, 12, 0, 0, 0, Location())
			to := time.Date(tt.year, 12, 31, 12, 0, 0, 0, Location())
			got := weekendsOnly.WorkdaysBetween(from, to) - c.WorkdaysBetween(from, to)
			if got != tt.want {
				t.Errorf("net weekday rest days in %d = %d, want %d", tt.year, got, tt.want)
			}
		})
	}
}

func TestDefaultData(t *testing.T) {
	c := Default()
	if c != Default() {
		t.Error("Default() returned different calendars")
	}
	years := c.Years()
	var got []int
	for _, y := range years {
		got = append(got, y.Year)
		if !strings.Contains(y.Source, "国务院办公厅关于") || !strings.Contains(y.Source, "国办发明电") {
			t.Errorf("%d: source %q does not name the notice", y.Year, y.Source)
		}
		if !slices.IsSorted(y.Holidays) || !slices.IsSorted(y.MakeupWorkdays) {
			t.Errorf("%d: dates not sorted", y.Year)
		}
	}
	if want := []int{2024, 2025, 2026}; !slices.Equal(got, want) {
		t.Errorf("years = %v, want %v", got, want)
	}
	counts := map[int][2]int{2024: {28, 8}, 2025: {28, 5}, 2026: {33, 6}}
	for _, y := range years {
		if got, want := [2]int{len(y.Holidays), len(y.MakeupWorkdays)}, counts[y.Year]; got != want {
			t.Errorf("%d: %d holidays and %d make-up days, want %v", y.Year, got[0], got[1], want)
		}
	}
	for _, y := range []int{2023, 2024, 2025, 2026, 2027} {
		if got, want := c.Known(y), y >= 2024 && y <= 2026; got != want {
			t.Errorf("Known(%d) = %v, want %v", y, got, want)
		}
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	tests := []struct {
		name  string
		years []Year
		want  string // in the error
	}{
		{"date outside its year", []Year{{Year: 2025, Holidays: []string{"2024-10-01"}}},
			`year 2025: Holidays[0] "2024-10-01": not in 2025`},
		{"make-up day outside its year", []Year{{Year: 2019, MakeupWorkdays: []string{"2018-12-29"}}},
			`MakeupWorkdays[0] "2018-12-29": not in 2019`},
		{"make-up day on a weekday", []Year{{Year: 2025, MakeupWorkdays: []string{"2025-09-29"}}},
			`MakeupWorkdays[0] "2025-09-29": a Monday: a make-up working day (调休上班) must be a Saturday or Sunday`},
		{"both holiday and make-up day", []Year{{Year: 2025, Holidays: []string{"2025-10-01", "2025-10-04"}, MakeupWorkdays: []string{"2025-10-04"}}},
			`MakeupWorkdays[0] "2025-10-04": both a holiday and a make-up working day (also Holidays[1])`},
		{"malformed date: no zero padding", []Year{{Year: 2025, Holidays: []string{"2025-1-1"}}},
			`Holidays[0] "2025-1-1": not a date of the form YYYY-MM-DD`},
		{"malformed date: slashes", []Year{{Year: 2025, Holidays: []string{"2025/01/01"}}},
			`not a date of the form YYYY-MM-DD`},
		{"malformed date: not a real day", []Year{{Year: 2025, Holidays: []string{"2025-02-29"}}},
			`Holidays[0] "2025-02-29": not a date of the form YYYY-MM-DD`},
		{"malformed date: spaces", []Year{{Year: 2025, Holidays: []string{" 2025-01-01"}}},
			`not a date of the form YYYY-MM-DD`},
		{"malformed date: empty", []Year{{Year: 2025, MakeupWorkdays: []string{""}}},
			`MakeupWorkdays[0] "": not a date of the form YYYY-MM-DD`},
		{"date listed twice", []Year{{Year: 2025, Holidays: []string{"2025-01-01", "2025-01-01"}}},
			`Holidays[1] "2025-01-01": listed twice (also Holidays[0])`},
		{"year given twice", []Year{{Year: 2025}, {Year: 2025}},
			`year 2025: given twice`},
		{"year zero", []Year{{Year: 0}},
			`year 0: out of range: a year must be from 1949 to 9999`},
		{"year too large", []Year{{Year: 20250}},
			`year 20250: out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.years...)
			if err == nil {
				t.Fatalf("New(%+v) = %v, nil; want an error", tt.years, c)
			}
			if c != nil {
				t.Errorf("New returned a calendar with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			var de *DataError
			if !errors.As(err, &de) {
				t.Errorf("error %v is not a *DataError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(
		Year{Year: 2025, Holidays: []string{"2025-13-01", "2024-01-01"}, MakeupWorkdays: []string{"2025-03-05"}},
		Year{Year: 2030, MakeupWorkdays: []string{"2030-01-01"}},
	)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`"2025-13-01"`, `"2024-01-01"`, `"2025-03-05"`, `year 2030`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Errorf("%d problems reported, want 4:\n%v", n, err)
	}
}

func TestNewAccepts(t *testing.T) {
	tests := []struct {
		name string
		y    Year
	}{
		{"empty year", Year{Year: 2030}},
		{"holiday on a weekend", Year{Year: 2025, Holidays: []string{"2025-03-08"}}},
		{"leap day", Year{Year: 2028, Holidays: []string{"2028-02-29"}}},
		{"first and last years", Year{Year: MinYear, Holidays: []string{"1949-10-01"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.y); err != nil {
				t.Errorf("New(%+v): %v", tt.y, err)
			}
		})
	}
}

func TestUnknownYearsWeekendsOnly(t *testing.T) {
	empty, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var zero Calendar
	for name, c := range map[string]*Calendar{"Default": Default(), "New()": empty, "zero Calendar": &zero} {
		t.Run(name, func(t *testing.T) {
			// 2027 and 2023 are unknown to all three.
			if got, want := c.AddWorkdays(at(t, "2027-09-30 10:00"), 1), endOf(t, "2027-10-01"); !got.Equal(want) {
				t.Errorf("AddWorkdays over 2027-10-01 = %v, want %v (weekends only)", got, want)
			}
			if got, want := c.AddWorkdays(at(t, "2023-09-29 10:00"), 1), endOf(t, "2023-10-02"); !got.Equal(want) {
				t.Errorf("AddWorkdays from Friday 2023-09-29 = %v, want %v", got, want)
			}
			if got := c.WorkdaysBetween(at(t, "2027-01-01 10:00"), at(t, "2027-01-31 10:00")); got != 20 {
				t.Errorf("WorkdaysBetween over January 2027 = %d, want 20", got)
			}
			if c.Known(2027) {
				t.Error("Known(2027)")
			}
		})
	}
	// Without data, 2025's holidays are ordinary days.
	if got, want := empty.AddWorkdays(at(t, "2025-09-30 11:00"), 3), endOf(t, "2025-10-03"); !got.Equal(want) {
		t.Errorf("weekends-only AddWorkdays = %v, want %v", got, want)
	}
	if len(zero.Years()) != 0 || len(empty.Years()) != 0 {
		t.Error("a calendar without data has years")
	}
}

func TestWith(t *testing.T) {
	base := Default()
	// An administrator adds 2027 (made-up data, for the test) and corrects 2026.
	c, err := base.With(Year{Year: 2027, Holidays: []string{"2027-01-01"}, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.With(Year{Year: 2026, Holidays: []string{"2026-03-02"}, MakeupWorkdays: []string{"2026-03-07"}, Source: "corrected"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date       string
		base, with bool
	}{
		{"2027-01-01", true, false},
		{"2026-03-02", true, false},
		{"2026-03-07", false, true},
		{"2026-10-01", false, true}, // replaced: the corrected 2026 no longer has 国庆
		{"2025-10-01", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			day := at(t, tt.date+" 12:00")
			if got := base.IsWorkday(day); got != tt.base {
				t.Errorf("base: IsWorkday = %v, want %v", got, tt.base)
			}
			if got := c.IsWorkday(day); got != tt.with {
				t.Errorf("with: IsWorkday = %v, want %v", got, tt.with)
			}
		})
	}
	var years []int
	for _, y := range c.Years() {
		years = append(years, y.Year)
	}
	if want := []int{2024, 2025, 2026, 2027}; !slices.Equal(years, want) {
		t.Errorf("years = %v, want %v", years, want)
	}
	if got := c.Years()[2].Source; got != "corrected" {
		t.Errorf("2026 source = %q", got)
	}

	if bad, err := base.With(Year{Year: 2026, MakeupWorkdays: []string{"2026-03-02"}}); err == nil || bad != nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("With(bad) = %v, %v; want nil, an ErrInvalid", bad, err)
	}
	if base.IsWorkday(at(t, "2026-10-01 12:00")) {
		t.Error("With changed the receiver")
	}
}

func TestYearsIsACopy(t *testing.T) {
	in := Year{Year: 2030, Holidays: []string{"2030-10-02", "2030-10-01"}, MakeupWorkdays: []string{"2030-09-29"}}
	c, err := New(in)
	if err != nil {
		t.Fatal(err)
	}
	in.Holidays[0] = "2030-10-03" // the caller's slice is not kept
	ys := c.Years()
	if want := []string{"2030-10-01", "2030-10-02"}; !slices.Equal(ys[0].Holidays, want) {
		t.Errorf("Holidays = %v, want %v", ys[0].Holidays, want)
	}
	ys[0].Holidays[0] = "2030-12-25"
	ys[0].MakeupWorkdays[0] = "2030-01-05"
	if got := c.Years()[0]; got.Holidays[0] != "2030-10-01" || got.MakeupWorkdays[0] != "2030-09-29" {
		t.Errorf("Years returned the calendar's own slices: %+v", got)
	}
	if c.IsWorkday(at(t, "2030-10-01 12:00")) || c.IsWorkday(at(t, "2030-10-02 12:00")) || !c.IsWorkday(at(t, "2030-10-03 12:00")) {
		t.Error("mutating the input or output changed the calendar")
	}
}

func TestPanics(t *testing.T) {
	c := Default()
	start := at(t, "2025-03-03 10:00")
	for name, f := range map[string]func(){
		"AddWorkdays(-1)":            func() { c.AddWorkdays(start, -1) },
		"AddWorkdays(MaxWorkdays+1)": func() { c.AddWorkdays(start, MaxWorkdays+1) },
		"AddHours(-1)":               func() { c.AddHours(start, -1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			f()
		})
	}
}

// naiveAdd and naiveBetween count day by day with IsWorkday.
func naiveAdd(c *Calendar, start time.Time, n int) time.Time {
	y, m, d := start.In(Location()).Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, Location())
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.IsWorkday(day) {
			n--
		}
	}
	y, m, d = day.Date()
	return time.Date(y, m, d, 23, 59, 59, 999e6, Location())
}

func naiveBetween(c *Calendar, from, to time.Time) int {
	y, m, d := from.In(Location()).Date()
	a := time.Date(y, m, d, 12, 0, 0, 0, Location())
	y, m, d = to.In(Location()).Date()
	b := time.Date(y, m, d, 12, 0, 0, 0, Location())
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	n := 0
	for day := a.AddDate(0, 0, 1); !day.After(b); day = day.AddDate(0, 0, 1) {
		if c.IsWorkday(day) {
			n++
		}
	}
	return sign * n
}

func TestAgainstDayByDay(t *testing.T) {
	// A calendar with a stretch of holidays longer than a week, so the week skipping of
	// AddWorkdays meets special days in every position.
	long := Year{Year: 2028, Source: "test"}
	for d := time.Date(2028, 7, 1, 0, 0, 0, 0, time.UTC); d.Month() == 7; d = d.AddDate(0, 0, 1) {
		long.Holidays = append(long.Holidays, d.Format(DateLayout))
	}
	withLong, err := Default().With(long)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := at(t, "2022-06-01 00:00")
	for name, c := range map[string]*Calendar{"Default": Default(), "with 2028": withLong} {
		t.Run(name, func(t *testing.T) {
			for range 1000 {
				start := base.Add(time.Duration(r.Int64N(int64(7 * 365 * 24 * time.Hour))))
				n := r.IntN(400)
				got, want := c.AddWorkdays(start, n), naiveAdd(c, start, n)
				if !got.Equal(want) {
					t.Fatalf("AddWorkdays(%v, %d) = %v, want %v", start, n, got, want)
				}
				if back := c.WorkdaysBetween(start, got); back != n {
					t.Fatalf("WorkdaysBetween(%v, AddWorkdays(.., %d)) = %d", start, n, back)
				}
				if n > 0 && !c.IsWorkday(got) {
					t.Fatalf("AddWorkdays(%v, %d) = %v, not a working day", start, n, got)
				}
				to := base.Add(time.Duration(r.Int64N(int64(7 * 365 * 24 * time.Hour))))
				if got, want := c.WorkdaysBetween(start, to), naiveBetween(c, start, to); got != want {
					t.Fatalf("WorkdaysBetween(%v, %v) = %d, want %d", start, to, got, want)
				}
			}
		})
	}
	t.Run("MaxWorkdays", func(t *testing.T) {
		start := at(t, "2025-03-03 10:00")
		if got, want := Default().AddWorkdays(start, MaxWorkdays), naiveAdd(Default(), start, MaxWorkdays); !got.Equal(want) {
			t.Errorf("AddWorkdays(MaxWorkdays) = %v, want %v", got, want)
		}
	})
	t.Run("far apart", func(t *testing.T) {
		from, to := time.Time{}, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		weekends, _ := New()
		got := Default().WorkdaysBetween(from, to) - weekends.WorkdaysBetween(from, to)
		if got != -(11 + 13 + 13) {
			t.Errorf("difference to weekends-only over all time = %d, want -37", got)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	c := Default()
	start := at(t, "2025-09-30 11:00")
	want := c.AddWorkdays(start, 3)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := c.AddWorkdays(start, 3); !got.Equal(want) {
					t.Errorf("AddWorkdays = %v, want %v", got, want)
				}
				_ = c.WorkdaysBetween(start, want)
				_ = c.Years()
				if _, err := c.With(Year{Year: 2027}); err != nil {
					t.Error(err)
				}
				_ = Default()
			}
		})
	}
	wg.Wait()
}
