package llama3

/*
#include <stdint.h>
#include <stdlib.h>
#include "llama3.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// CodeScanner holds insecure-code rules; immutable and shareable between goroutines. Use it on
// its own (Scan) or as GenerateOptions.CodeScanner.
type CodeScanner struct{ raw *C.llama3_code_scanner }

// NewCodeScanner compiles rules in the library's JSON format, or the built-in rules when
// rulesJSON is "".
func NewCodeScanner(rulesJSON string) (*CodeScanner, error) {
	var rules *C.char
	if rulesJSON != "" {
		rules = C.CString(rulesJSON)
		defer C.free(unsafe.Pointer(rules))
	}
	var raw *C.llama3_code_scanner
	if err := call(func() C.llama3_status { return C.llama3_code_scanner_create(rules, &raw) }); err != nil {
		return nil, err
	}
	return &CodeScanner{raw: raw}, nil
}

// Close frees the scanner (a generation or request that uses it keeps its rules).
func (s *CodeScanner) Close() error {
	C.llama3_code_scanner_free(s.raw)
	s.raw = nil
	return nil
}

// Scan scans code in language ("" for every language's rules), or with markdown each fenced block
// with its fence's language, and returns the findings as the library's JSON text.
func (s *CodeScanner) Scan(code, language string, markdown bool) (string, error) {
	ccode := C.CString(code)
	defer C.free(unsafe.Pointer(ccode))
	clanguage := C.CString(language)
	defer C.free(unsafe.Pointer(clanguage))
	bytes, _, err := fill(1, 1, func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status {
		return C.llama3_code_scan(s.raw, ccode, C.size_t(len(code)), clanguage, C.int32_t(boolInt(markdown)),
			(*C.char)(buffer), capacity, needed)
	})
	return string(bytes), err
}

// GuardVersion names the Llama Guard a model is.
type GuardVersion int

const (
	GuardAuto    GuardVersion = C.LLAMA3_GUARD_AUTO // from the model's metadata
	Guard2       GuardVersion = C.LLAMA3_GUARD_2
	Guard3       GuardVersion = C.LLAMA3_GUARD_3
	Guard3With1B GuardVersion = C.LLAMA3_GUARD_3_1B
)

// GuardOptions configure a Guard; start from DefaultGuardOptions.
type GuardOptions struct {
	Version      GuardVersion
	Threshold    float32 // on P(unsafe) of the first generated token
	MaxNewTokens int
	Threads      int // 0: one per hardware thread
	ContextSize  int // 0: the model's, capped at 4096
}

// DefaultGuardOptions are the library's defaults.
func DefaultGuardOptions() GuardOptions {
	var p C.llama3_guard_params
	C.llama3_guard_params_init_sized(&p, C.sizeof_llama3_guard_params)
	return GuardOptions{Version: GuardVersion(p.version), Threshold: float32(p.threshold),
		MaxNewTokens: int(p.max_new_tokens), Threads: int(p.n_threads), ContextSize: int(p.n_ctx)}
}

// Guard is a Llama Guard 2/3 classifier over a loaded Guard model. Goroutines sharing one (and
// the generations whose filters use it) take turns on it.
type Guard struct{ raw *C.llama3_guard }

// NewGuard makes a classifier over model (ErrInvalidArgument when the version cannot be told).
func (m *Model) NewGuard(options GuardOptions) (*Guard, error) {
	var p C.llama3_guard_params
	C.llama3_guard_params_init_sized(&p, C.sizeof_llama3_guard_params)
	p.version = C.int32_t(options.Version)
	p.threshold = C.float(options.Threshold)
	p.max_new_tokens = C.int32_t(options.MaxNewTokens)
	p.n_threads = C.int32_t(options.Threads)
	p.n_ctx = C.int32_t(options.ContextSize)
	var raw *C.llama3_guard
	if err := call(func() C.llama3_status { return C.llama3_guard_create(m.raw, &p, &raw) }); err != nil {
		return nil, err
	}
	return &Guard{raw: raw}, nil
}

// Close frees the guard (a generation or request that uses it keeps it alive until it ends).
func (g *Guard) Close() error {
	C.llama3_guard_free(g.raw)
	g.raw = nil
	return nil
}

// Classify judges the last of turns (roles "user" and "assistant") and returns the verdict as the
// library's JSON text ({"verdict": "safe"|"unsafe"|"malformed", ...}).
func (g *Guard) Classify(turns []Message) (string, error) {
	n := len(turns)
	raw := (*C.llama3_chat_message)(C.malloc(C.size_t(n+1) * C.size_t(unsafe.Sizeof(C.llama3_chat_message{}))))
	defer C.free(unsafe.Pointer(raw))
	items := unsafe.Slice(raw, n+1)
	for i, turn := range turns {
		items[i].role = C.CString(turn.Role)
		items[i].content = C.CString(turn.Content)
		defer C.free(unsafe.Pointer(items[i].role))
		defer C.free(unsafe.Pointer(items[i].content))
	}
	// Each call runs the model, so a buffer that is almost always large enough comes first.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	capacity := C.size_t(4096)
	for {
		buffer := C.malloc(capacity)
		var needed C.size_t
		status := C.llama3_guard_classify(g.raw, raw, C.size_t(n), (*C.char)(buffer), capacity, &needed)
		text := C.GoStringN((*C.char)(buffer), C.int(needed))
		C.free(buffer)
		if status == C.LLAMA3_ERR_BUFFER_TOO_SMALL {
			capacity = needed + 1
			continue
		}
		if err := check(status); err != nil {
			return "", err
		}
		return text, nil
	}
}
