// Package calendar counts time limits (限时办结) on China's official working calendar.
//
// A day is a working day unless it is a rest day. Saturdays and Sundays are rest days,
// except the make-up working days (调休上班) a year's notice names; the holidays a notice
// names (法定节假日, including the weekdays it turns into rest days by 调休) are rest days.
// Each year's arrangement is published by the General Office of the State Council
// (国务院办公厅关于某年部分节假日安排的通知), usually in October or November of the year
// before; it cannot be derived from the lunar calendar, so it is data ([Year]).
//
// A year the calendar has no data for is counted on weekends only: Saturdays and Sundays
// rest, every other day works, holidays included. [Calendar.Known] tells whether a year
// has data, so that a caller can warn that a due date beyond the published years may
// move once the notice appears.
//
// # Time zone
//
// All days are civil days in China Standard Time. The package uses a fixed UTC+8 zone
// ([Location]), not the tz database's Asia/Shanghai: China has kept UTC+8 without daylight
// saving since 1991, so the two agree on every date this package is for, and the fixed zone
// needs no tz data on the host. Times of any location are accepted and converted; every
// time returned is in [Location].
//
// # Counting
//
// A limit of n working days on a step started at some instant ends at the end of the n-th
// working day after the day the step started: counting always starts the next day, whatever
// the hour of the start and whether the start day works ([Calendar.AddWorkdays]). The end of
// a day is 23:59:59.999 CST, the last millisecond: the due time keeps its day when stored at
// millisecond or microsecond precision (JSON, JavaScript, PostgreSQL). A step is overdue
// when now.After(due).
//
// Steps of the emergency channel (绿色通道) are limited in wall-clock hours
// ([Calendar.AddHours]): rest days count.
//
// A [Calendar] is immutable and safe for concurrent use; the zero Calendar counts weekends
// only, as does New().
package calendar

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// DateLayout is the layout of every date in a [Year].
const DateLayout = "2006-01-02"

// Years a [Year] may describe: from the founding of the PRC (whose first national holiday
// rules date from December 1949) to the last four-digit year.
const (
	MinYear = 1949
	MaxYear = 9999
)

// MaxWorkdays is the largest limit [Calendar.AddWorkdays] accepts (about 3,800 years).
const MaxWorkdays = 1_000_000

var cst = time.FixedZone("CST", 8*60*60)

// Location returns China Standard Time, the fixed zone UTC+8 every day is counted in.
func Location() *time.Location { return cst }

// Year is one year's official arrangement, as its notice gives it.
type Year struct {
	Year int
	// Holidays are the rest days the notice names ("YYYY-MM-DD"): the holidays and the
	// weekdays made rest days by 调休. Weekend days inside a notice's span may be listed
	// or not; they rest either way.
	Holidays []string
	// MakeupWorkdays are the Saturdays and Sundays the notice makes working days (调休上班).
	MakeupWorkdays []string
	// Source names the notice (title, document number, date), or who corrected the data
	// and on what basis. Free text; may be empty.
	Source string
}

// ErrInvalid is wrapped by every error [New] and [Calendar.With] return.
var ErrInvalid = errors.New("invalid calendar data")

// DataError is one problem in the data given to [New] or [Calendar.With]. Those return
// every problem they find, joined ([errors.Join]); use [errors.As] to get the first.
type DataError struct {
	Year    int    // the Year.Year of the entry at fault
	Field   string // "Year", "Holidays[i]" or "MakeupWorkdays[i]"
	Value   string // the value at fault, as given
	Problem string
}

func (e *DataError) Error() string {
	if e.Field == "Year" {
		return fmt.Sprintf("calendar: year %s: %s", e.Value, e.Problem)
	}
	return fmt.Sprintf("calendar: year %d: %s %q: %s", e.Year, e.Field, e.Value, e.Problem)
}

// Unwrap returns [ErrInvalid].
func (e *DataError) Unwrap() error { return ErrInvalid }

// Calendar is a working calendar: a set of [Year]s, and weekends-only for other years.
type Calendar struct {
	years []Year       // sorted by Year, dates sorted; never modified
	known map[int]bool // the years in years
	// specials are the days of the known years that differ from weekends-only: make-up
	// working days, and holidays falling on weekdays. Sorted by day.
	specials []special
	// prefix[i] is the sum of specials[:i].delta.
	prefix []int
}

type special struct {
	day   day
	delta int // +1: a weekend day that works; -1: a weekday that rests
}

// New returns a calendar of the given years. It refuses, reporting every problem found:
// a year out of [MinYear, MaxYear] or given twice; a date not in the layout "YYYY-MM-DD"
// or not a real date; a date outside its entry's year; a date listed twice; a date that
// is both a holiday and a make-up working day; a make-up working day that is not a
// Saturday or Sunday. Every error wraps [ErrInvalid].
//
// Each date belongs in the entry of its own year: should a notice name a day of the
// previous year (the 2019 notice made Saturday 2018-12-29 a working day), that day goes
// in the previous year's entry.
func New(years ...Year) (*Calendar, error) {
	var problems []error
	seen := make(map[int]bool, len(years))
	c := &Calendar{known: make(map[int]bool, len(years))}
	for _, y := range years {
		if y.Year < MinYear || y.Year > MaxYear {
			problems = append(problems, &DataError{Year: y.Year, Field: "Year", Value: fmt.Sprint(y.Year),
				Problem: fmt.Sprintf("out of range: a year must be from %d to %d", MinYear, MaxYear)})
			continue
		}
		if seen[y.Year] {
			problems = append(problems, &DataError{Year: y.Year, Field: "Year", Value: fmt.Sprint(y.Year),
				Problem: "given twice: give each year once"})
			continue
		}
		seen[y.Year] = true
		norm, specials, errs := check(y)
		if len(errs) > 0 {
			problems = append(problems, errs...)
			continue
		}
		c.years = append(c.years, norm)
		c.known[y.Year] = true
		c.specials = append(c.specials, specials...)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	slices.SortFunc(c.years, func(a, b Year) int { return cmp.Compare(a.Year, b.Year) })
	slices.SortFunc(c.specials, func(a, b special) int { return cmp.Compare(a.day, b.day) })
	c.prefix = make([]int, len(c.specials)+1)
	for i, s := range c.specials {
		c.prefix[i+1] = c.prefix[i] + s.delta
	}
	return c, nil
}

// check validates one year, and returns it normalised (dates sorted, slices owned) with
// the days where it departs from weekends-only.
func check(y Year) (Year, []special, []error) {
	var errs []error
	bad := func(field, value, problem string) {
		errs = append(errs, &DataError{Year: y.Year, Field: field, Value: value, Problem: problem})
	}
	fields := make(map[day]string, len(y.Holidays)+len(y.MakeupWorkdays)) // day -> first field naming it
	parse := func(list string, dates []string, makeup bool) []day {
		var days []day
		for i, s := range dates {
			field := fmt.Sprintf("%s[%d]", list, i)
			t, err := time.Parse(DateLayout, s)
			if err != nil {
				bad(field, s, "not a date of the form YYYY-MM-DD")
				continue
			}
			if t.Year() != y.Year {
				bad(field, s, fmt.Sprintf("not in %d: each date belongs in the entry of its own year", y.Year))
				continue
			}
			d := civil(t.Date())
			if prev, ok := fields[d]; ok {
				if strings.HasPrefix(prev, list+"[") {
					bad(field, s, fmt.Sprintf("listed twice (also %s)", prev))
				} else {
					bad(field, s, fmt.Sprintf("both a holiday and a make-up working day (also %s)", prev))
				}
				continue
			}
			fields[d] = field
			if makeup && !isWeekend(d) {
				bad(field, s, fmt.Sprintf("a %s: a make-up working day (调休上班) must be a Saturday or Sunday", d.weekday()))
				continue
			}
			days = append(days, d)
		}
		return days
	}
	holidays := parse("Holidays", y.Holidays, false)
	makeups := parse("MakeupWorkdays", y.MakeupWorkdays, true)
	if len(errs) > 0 {
		return Year{}, nil, errs
	}
	var specials []special
	for _, d := range holidays {
		if !isWeekend(d) {
			specials = append(specials, special{day: d, delta: -1})
		}
	}
	for _, d := range makeups {
		specials = append(specials, special{day: d, delta: +1})
	}
	return Year{Year: y.Year, Holidays: format(holidays), MakeupWorkdays: format(makeups), Source: y.Source}, specials, nil
}

func format(days []day) []string {
	slices.Sort(days)
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.String()
	}
	return out
}

// IsWorkday reports whether t's date (in CST) is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	return c.isWorkday(dayOf(t))
}

func (c *Calendar) isWorkday(d day) bool {
	if i, ok := c.find(d); ok {
		return c.specials[i].delta > 0
	}
	return !isWeekend(d)
}

// find returns the index of the first special day on or after d, and whether it is d.
func (c *Calendar) find(d day) (int, bool) {
	i := sort.Search(len(c.specials), func(i int) bool { return c.specials[i].day >= d })
	return i, i < len(c.specials) && c.specials[i].day == d
}

// Known reports whether the calendar has data for year; other years count weekends only.
func (c *Calendar) Known(year int) bool { return c.known[year] }

// AddWorkdays returns the due time of a limit of n working days on a step started at
// start: the end (23:59:59.999 CST) of the n-th working day after the day of start.
// Counting starts the next day whatever the hour of start and whether start's day works:
// a step started on Friday, at any hour, with n = 1 is due at the end of the next Monday
// (of Saturday, were it a make-up working day). n = 0 gives the end of start's own day,
// working day or not.
//
// AddWorkdays panics if n is negative or greater than [MaxWorkdays]: limits come from
// validated configuration, so such an n is a programming error.
func (c *Calendar) AddWorkdays(start time.Time, n int) time.Time {
	if n < 0 || n > MaxWorkdays {
		panic(fmt.Sprintf("calendar: AddWorkdays: limit of %d working days out of range [0, %d]", n, MaxWorkdays))
	}
	d := dayOf(start)
	for n > 0 {
		// Where the next seven days hold no special day, they hold exactly five working
		// days: skip whole weeks, keeping at least one working day to find one by one.
		if n > 5 {
			next, _ := c.find(d + 1)
			weeks := (n - 1) / 5
			if next < len(c.specials) {
				weeks = min(weeks, int((c.specials[next].day-d-1)/7))
			}
			d += day(7 * weeks)
			n -= 5 * weeks
		}
		d++
		if c.isWorkday(d) {
			n--
		}
	}
	return d.end()
}

// AddHours returns the due time of a limit of h wall-clock hours on a step started at
// start (the emergency channel, 绿色通道): start + h hours, in CST. Rest days count; CST
// has no daylight saving, so h hours of wall clock are h hours of elapsed time.
//
// AddHours panics if h is negative.
func (c *Calendar) AddHours(start time.Time, h int) time.Time {
	if h < 0 {
		panic(fmt.Sprintf("calendar: AddHours: negative limit of %d hours", h))
	}
	return start.In(cst).AddDate(0, 0, h/24).Add(time.Duration(h%24) * time.Hour)
}

// WorkdaysBetween returns the number of working days after from's day up to and including
// to's day (days in CST; the hours do not matter), negative when to's day is before from's.
// With from a due time and to now, it is the number of working days a step is late: 0 on
// the due day itself, 1 on the next working day, and still 1 on the rest days after it.
// For n >= 0, WorkdaysBetween(start, AddWorkdays(start, n)) == n.
func (c *Calendar) WorkdaysBetween(from, to time.Time) int {
	a, b := dayOf(from), dayOf(to)
	if b < a {
		return -c.count(b, a)
	}
	return c.count(a, b)
}

// count returns the number of working days in (a, b], a <= b.
func (c *Calendar) count(a, b day) int {
	if len(c.specials) == 0 { // also the zero Calendar, whose prefix is nil
		return int(weekdaysBefore(b+1) - weekdaysBefore(a+1))
	}
	i, _ := c.find(a + 1)
	j, _ := c.find(b + 1)
	return int(weekdaysBefore(b+1)-weekdaysBefore(a+1)) + c.prefix[j] - c.prefix[i]
}

// Years returns the calendar's data, by year, dates sorted. The result is a copy.
func (c *Calendar) Years() []Year {
	out := make([]Year, len(c.years))
	for i, y := range c.years {
		out[i] = Year{Year: y.Year, Holidays: slices.Clone(y.Holidays), MakeupWorkdays: slices.Clone(y.MakeupWorkdays), Source: y.Source}
	}
	return out
}

// With returns a copy of the calendar with y in place of its data for y.Year (or with
// y added), validated as by [New]. The receiver does not change.
func (c *Calendar) With(y Year) (*Calendar, error) {
	years := make([]Year, 0, len(c.years)+1)
	for _, old := range c.years {
		if old.Year != y.Year {
			years = append(years, old)
		}
	}
	return New(append(years, y)...)
}

// day is a civil date: the number of days since 1970-01-01 (proleptic Gregorian).
type day int64

func civil(y int, m time.Month, d int) day {
	return day(floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400))
}

func dayOf(t time.Time) day { return civil(t.In(cst).Date()) }

func (d day) date() (int, time.Month, int) { return time.Unix(int64(d)*86400, 0).UTC().Date() }

// end returns the last millisecond of the day in CST.
func (d day) end() time.Time {
	y, m, dd := d.date()
	return time.Date(y, m, dd, 23, 59, 59, int(999*time.Millisecond), cst)
}

func (d day) String() string {
	y, m, dd := d.date()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// 1970-01-05 (day 4) was a Monday.
func (d day) weekday() time.Weekday { return time.Weekday(floorMod(int64(d)-4, 7)+1) % 7 }

func isWeekend(d day) bool {
	w := d.weekday()
	return w == time.Saturday || w == time.Sunday
}

// weekdaysBefore returns the number of Mondays to Fridays from Monday 1970-01-05 up to but
// excluding d (negative before it): differences of it count weekdays in a range.
func weekdaysBefore(d day) int64 {
	k := int64(d) - 4
	return 5*floorDiv(k, 7) + min(floorMod(k, 7), 5)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - b*floorDiv(a, b) }
