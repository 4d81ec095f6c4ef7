package store

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinels. Stores wrap them with %w and a message naming the resource; handlers map
// them to gRPC codes with errors.Is (see apierr.FromError).
var (
	// ErrNotFound: the resource does not exist (or the caller may not know it exists).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a create found the resource there already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the resource changed since it was read (stale etag / revision).
	ErrConflict = errors.New("changed concurrently")
	// ErrReferenced: a delete found other resources still referring to the resource.
	ErrReferenced = errors.New("still referenced")
	// ErrMissingReference: a write refers to a resource that does not exist.
	ErrMissingReference = errors.New("referenced resource does not exist")
	// ErrFailedPrecondition: the resource is not in a state that allows the operation.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrTooLarge: the write does not fit in one etcd transaction.
	ErrTooLarge = errors.New("too large for one transaction")
	// ErrInvalidEtag: the etag sent is not one this service produced.
	ErrInvalidEtag = errors.New("invalid etag")
	// ErrUnavailable: etcd could not be reached in time.
	ErrUnavailable = errors.New("store unavailable")
)

// FormatEtag renders an etcd mod revision as an etag.
func FormatEtag(rev int64) string {
	if rev <= 0 {
		return ""
	}
	return strconv.FormatInt(rev, 10)
}

// ParseEtag reads an etag; "" means "no condition" and returns 0.
func ParseEtag(etag string) (int64, error) {
	if etag == "" {
		return 0, nil
	}
	rev, err := strconv.ParseInt(etag, 10, 64)
	if err != nil || rev <= 0 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidEtag, etag)
	}
	return rev, nil
}

// CheckEtag compares a client's etag with the revision read: a non-empty etag that
// differs is ErrConflict.
func CheckEtag(etag string, rev int64, what string) error {
	want, err := ParseEtag(etag)
	if err != nil {
		return err
	}
	if want != 0 && want != rev {
		return fmt.Errorf("%s: %w (etag %s, now %d): read it again and retry", what, ErrConflict, etag, rev)
	}
	return nil
}
