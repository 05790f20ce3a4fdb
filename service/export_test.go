package service

// SetMaxMarkedBuyers sets the bound past which a sold-out mark lists no
// buyers, until the returned restore is called.
func SetMaxMarkedBuyers(n int) (restore func()) {
	was := maxMarkedBuyers
	maxMarkedBuyers = n
	return func() { maxMarkedBuyers = was }
}
