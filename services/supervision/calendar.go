package supervision

import (
	"context"
	"strconv"
	"sync"
	"time"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// calendar is the approval service's working-day calendar (法定节假日 and 调休 working
// days), fetched per year and kept for an hour; without it (no approval service, or it
// does not answer) weekends are the rest days.
type calendar struct {
	fetch func(ctx context.Context, year int) (*approvalv1.Calendar, error)
	mu    sync.Mutex
	years map[int]calYear
}

type calYear struct {
	holidays, makeup map[string]bool
	at               time.Time
	ok               bool
}

func newCalendar(fetch func(ctx context.Context, year int) (*approvalv1.Calendar, error)) *calendar {
	return &calendar{fetch: fetch, years: map[int]calYear{}}
}

func (c *calendar) year(y int) calYear {
	c.mu.Lock()
	defer c.mu.Unlock()
	cy, ok := c.years[y]
	if ok && time.Since(cy.at) < time.Hour {
		return cy
	}
	cy = calYear{at: time.Now()}
	if c.fetch != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cal, err := c.fetch(ctx, y)
		cancel()
		if err == nil {
			cy.ok, cy.holidays, cy.makeup = true, map[string]bool{}, map[string]bool{}
			for _, d := range cal.Holidays {
				cy.holidays[d] = true
			}
			for _, d := range cal.MakeupWorkdays {
				cy.makeup[d] = true
			}
		} else if ok && cy.ok {
			cy = c.years[y] // keep what was fetched before
			cy.at = time.Now()
		}
	}
	c.years[y] = cy
	return cy
}

// restDay reports whether t (China time) is a rest day: a holiday, or a weekend that is
// not a make-up working day.
func (c *calendar) restDay(t time.Time) bool {
	l := t.In(cst)
	d := l.Format(time.DateOnly)
	cy := c.year(l.Year())
	if cy.holidays[d] {
		return true
	}
	if cy.makeup[d] {
		return false
	}
	return l.Weekday() == time.Saturday || l.Weekday() == time.Sunday
}

// workingHours: 08:30–12:00 and 13:30–18:00 on a working day (China time).
func (c *calendar) workingHours(t time.Time) bool {
	if c.restDay(t) {
		return false
	}
	l := t.In(cst)
	m := l.Hour()*60 + l.Minute()
	return (m >= 8*60+30 && m < 12*60) || (m >= 13*60+30 && m < 18*60)
}

// addWorkingDays is t plus n working days.
func (c *calendar) addWorkingDays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if !c.restDay(t) {
			n--
		}
	}
	return t
}

// approvalCalendar fetches a year of the approval service's calendar.
func (s *Service) approvalCalendar(ctx context.Context, year int) (*approvalv1.Calendar, error) {
	return approvalv1.NewCalendarServiceClient(s.cfg.Approval).GetCalendar(s.cfg.CallCtx(ctx), &approvalv1.GetCalendarRequest{Name: "calendars/" + strconv.Itoa(year)})
}
