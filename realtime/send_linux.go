package realtime

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// writeNow writes b to socket fd (non-blocking, as the runtime keeps its
// sockets) without ever waiting for it to become writable: it returns how
// much the kernel took, which is less than len(b), with no error, when
// the socket's buffer is full. It bypasses the runtime's poller, which
// would cost a closure, a lock and a poller reset per write: the caller
// must make sure fd stays open meanwhile (client.write holds wmu, and
// client.shut takes it before closing).
func writeNow(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		// send(2) rather than write(2): the same for a socket, without the
		// file-system layer's bookkeeping on every call.
		m, _, errno := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n),
			syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return n, nil // full: the caller hands the rest to a flusher
		case errno != 0:
			return n, errno
		case m == 0:
			return n, io.ErrShortWrite
		}
		n += int(m)
	}
	return n, nil
}

// socketOf returns the descriptor of the socket under conn, or -1 when
// conn is not a plain socket (a TLS connection, a pipe in a test): then
// every write goes through a flusher and the runtime.
func socketOf(conn net.Conn) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := raw.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1
	}
	return fd
}
