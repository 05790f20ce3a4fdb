package domain

// Page sizes. A request for more than MaxPageSize items gets MaxPageSize.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageRequest asks for the First items that come after the item with ID
// After (the newest first when After is empty). Lists are ordered by ID,
// newest first; IDs are sortable by creation time.
type PageRequest struct {
	First int
	After string
}

// Normalize caps First at MaxPageSize. It returns an INVALID error for a
// negative First.
func (p *PageRequest) Normalize() error {
	if p.First < 0 {
		return Errorf(EINVALID, "first must not be negative")
	}
	if p.First > MaxPageSize {
		p.First = MaxPageSize
	}
	return nil
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T
	// HasNext reports whether items follow the last one of Items.
	HasNext bool
}
