package service

import "flashlive/domain"

// notifierOr returns n, or domain.NopNotifier when n is nil.
func notifierOr(n domain.LiveNotifier) domain.LiveNotifier {
	if n == nil {
		return domain.NopNotifier{}
	}
	return n
}
