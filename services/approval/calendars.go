package approval

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/approval/calendar"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/store"
)

// The working-day calendar: China's official schedules are built in (calendar.Default);
// a platform administrator stores a year to add or correct one (a new year's notice, a
// local arrangement). A stored year replaces the built-in one.

// yearOf reads a stored or requested calendar.
func yearOf(c *approvalv1.Calendar) (calendar.Year, error) {
	y, err := strconv.Atoi(strings.TrimPrefix(c.GetName(), "calendars/"))
	if err != nil {
		return calendar.Year{}, fmt.Errorf("calendar name %q: want calendars/{year}", c.GetName())
	}
	return calendar.Year{Year: y, Holidays: c.GetHolidays(), MakeupWorkdays: c.GetMakeupWorkdays(), Source: c.GetSource()}, nil
}

func calendarOf(y calendar.Year, rev int64) *approvalv1.Calendar {
	return &approvalv1.Calendar{
		Name: fmt.Sprintf("calendars/%d", y.Year), Holidays: y.Holidays, MakeupWorkdays: y.MakeupWorkdays,
		Source: y.Source, Etag: store.FormatEtag(rev),
	}
}

// GetCalendar returns the year in force: stored, built in, or (for a year without
// data) weekends only, said in its source.
func (s *Service) GetCalendar(ctx context.Context, name string) (*approvalv1.Calendar, error) {
	year, err := strconv.Atoi(strings.TrimPrefix(name, "calendars/"))
	if err != nil {
		return nil, apierr.Field("name", "name must be calendars/{year}", "名称应为 calendars/{year}")
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	s.calMu.Lock()
	st, ok := s.stored[year]
	s.calMu.Unlock()
	if ok {
		return calendarOf(st.year, st.rev), nil
	}
	for _, y := range s.cfg.Calendar.Years() {
		if y.Year == year {
			return calendarOf(y, 0), nil
		}
	}
	return &approvalv1.Calendar{Name: name, Source: "no data for this year: weekends only (Saturdays and Sundays rest)"}, nil
}

// UpdateCalendar stores a year (replacing the built-in one). The etag, when given, must
// be the stored year's.
func (s *Service) UpdateCalendar(ctx context.Context, c *approvalv1.Calendar) (*approvalv1.Calendar, error) {
	y, err := yearOf(c)
	if err != nil {
		return nil, apierr.Field("calendar.name", err.Error(), "名称应为 calendars/{year}")
	}
	if _, err := calendar.New(y); err != nil {
		var v apierr.Violations
		for _, e := range unjoin(err) {
			field := "calendar"
			var de *calendar.DataError
			if errors.As(e, &de) {
				field = "calendar." + fieldOf(de.Field)
			}
			v.Add(field, e.Error(), "日历数据无效")
		}
		return nil, v.Err()
	}
	key := s.keys.calendarKey(strconv.Itoa(y.Year))
	t := store.NewTxn()
	if c.GetEtag() != "" {
		rev, err := store.ParseEtag(c.GetEtag())
		if err != nil {
			return nil, apierr.FromError(err)
		}
		t.ExpectEtag(key, rev, c.GetName())
	}
	stored := &approvalv1.Calendar{Holidays: y.Holidays, MakeupWorkdays: y.MakeupWorkdays, Source: y.Source}
	t.Put(key, store.Marshal(stored))
	rev, err := s.store.Commit(ctx, t)
	if err != nil {
		return nil, apierr.FromError(err)
	}
	if err := s.cache.WaitFor(ctx, rev); err != nil {
		return nil, apierr.FromError(err)
	}
	s.reloadCalendars()
	return calendarOf(y, rev), nil
}

// fieldOf maps the calendar package's field names to the API's.
func fieldOf(f string) string {
	switch {
	case strings.HasPrefix(f, "Holidays"):
		return "holidays" + strings.TrimPrefix(f, "Holidays")
	case strings.HasPrefix(f, "MakeupWorkdays"):
		return "makeup_workdays" + strings.TrimPrefix(f, "MakeupWorkdays")
	}
	return "name"
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
