//go:build !linux

package realtime

import (
	"errors"
	"net"
)

// writeNow is not used off Linux: socketOf gives no descriptor there, so
// every write goes through a flusher and the runtime.
func writeNow(int, []byte) (int, error) {
	return 0, errors.New("realtime: direct socket writes need Linux")
}

// socketOf returns -1: off Linux, frames are written through the runtime.
func socketOf(net.Conn) int { return -1 }
