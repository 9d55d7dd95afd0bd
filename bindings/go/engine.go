package llama3

/*
#include <stdint.h>
#include <stdlib.h>
#include "llama3.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"unsafe"
)

// EngineOptions size an Engine; start from DefaultEngineOptions.
type EngineOptions struct {
	Threads            int  // 0: one per hardware thread
	ContextSize        int  // per sequence; 0: the model's, capped at 4096
	KVTokens           int  // KV pool in positions over all sequences; 0: four sequences' context
	MaxStepTokens      int  // rows per step (generating sequences plus prompt chunks)
	F32KVCache         bool // f32 keys and values instead of f16
	RefuseWhenPoolFull bool // a request finding too few KV blocks ends Refused instead of waiting
	PrefixCache        bool // reuse finished prompts' KV blocks for requests sharing a prefix
}

// DefaultEngineOptions are the library's defaults.
func DefaultEngineOptions() EngineOptions {
	var p C.llama3_engine_params
	C.llama3_engine_params_init_sized(&p, C.sizeof_llama3_engine_params)
	return EngineOptions{
		Threads:            int(p.n_threads),
		ContextSize:        int(p.n_ctx),
		KVTokens:           int(p.kv_tokens),
		MaxStepTokens:      int(p.max_step_tokens),
		F32KVCache:         p.kv_cache_type == C.LLAMA3_KV_CACHE_F32,
		RefuseWhenPoolFull: p.when_pool_full == C.LLAMA3_POOL_FULL_REFUSE,
		PrefixCache:        p.prefix_cache != 0,
	}
}

// RequestID names a request of one Engine.
type RequestID uint64

// RequestState is where a request stands.
type RequestState int

const (
	RequestQueued    RequestState = C.LLAMA3_REQUEST_QUEUED
	RequestRunning   RequestState = C.LLAMA3_REQUEST_RUNNING
	RequestFinished  RequestState = C.LLAMA3_REQUEST_FINISHED // ended by itself; see StopReason
	RequestCancelled RequestState = C.LLAMA3_REQUEST_CANCELLED
	RequestRefused   RequestState = C.LLAMA3_REQUEST_REFUSED // the KV pool could not take its prompt
	RequestFailed    RequestState = C.LLAMA3_REQUEST_FAILED
)

// Ended tells whether the request can make no more text.
func (s RequestState) Ended() bool { return s != RequestQueued && s != RequestRunning }

// EngineResult tells how a request ended.
type EngineResult struct {
	State           RequestState
	StopReason      string // as GenerateResult.StopReason
	Filter          string // as GenerateResult.Filter
	PromptTokens    int
	GeneratedTokens int
}

// Engine runs many generations at once over one model (batched steps, shared paged KV memory,
// prefix cache) on its own thread. Unlike a Session, every method may be called from any
// goroutine at any time. It keeps the model's weights alive: the Model may be closed first.
type Engine struct{ raw *C.llama3_engine }

// NewEngine starts an engine over the model.
func (m *Model) NewEngine(options EngineOptions) (*Engine, error) {
	var p C.llama3_engine_params
	C.llama3_engine_params_init_sized(&p, C.sizeof_llama3_engine_params)
	p.n_threads = C.int32_t(options.Threads)
	p.n_ctx = C.int32_t(options.ContextSize)
	p.kv_tokens = C.int32_t(options.KVTokens)
	p.max_step_tokens = C.int32_t(options.MaxStepTokens)
	p.kv_cache_type = C.LLAMA3_KV_CACHE_F16
	if options.F32KVCache {
		p.kv_cache_type = C.LLAMA3_KV_CACHE_F32
	}
	p.when_pool_full = C.LLAMA3_POOL_FULL_WAIT
	if options.RefuseWhenPoolFull {
		p.when_pool_full = C.LLAMA3_POOL_FULL_REFUSE
	}
	p.prefix_cache = 0
	if options.PrefixCache {
		p.prefix_cache = 1
	}
	var raw *C.llama3_engine
	if err := call(func() C.llama3_status { return C.llama3_engine_create(m.raw, &p, &raw) }); err != nil {
		return nil, err
	}
	return &Engine{raw: raw}, nil
}

// Close cancels every request and stops the engine's thread.
func (e *Engine) Close() error {
	C.llama3_engine_free(e.raw)
	e.raw = nil
	return nil
}

// Submit queues a generation of prompt with its own sampling and returns at once; read its text
// with Poll and its end with Wait.
func (e *Engine) Submit(prompt []Token, sampling SamplerParams, options GenerateOptions) (RequestID, error) {
	s := sampling.raw()
	// The engine copies the stop strings and phrases when the request is queued, and keeps the
	// adapters, the guard and the scanner's rules alive itself.
	params, free := options.raw()
	defer free()
	var id C.llama3_request_id
	err := withTokens(prompt, func(ids *C.llama3_token) error {
		return call(func() C.llama3_status {
			return C.llama3_engine_submit(e.raw, ids, C.size_t(len(prompt)), &s, &params, &id)
		})
	})
	return RequestID(id), err
}

// Poll returns the text produced since the last poll and the request's state.
func (e *Engine) Poll(id RequestID) (string, RequestState, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Text keeps arriving from the engine's thread, so the size asked for may have grown by the
	// next call: a buffer that turns out too small is sized again (nothing is consumed).
	var needed C.size_t
	for {
		capacity := int(needed) + 256
		buffer := C.malloc(C.size_t(capacity))
		var state C.int32_t
		status := C.llama3_engine_poll(e.raw, C.llama3_request_id(id), (*C.char)(buffer), C.size_t(capacity), &needed, &state)
		if status == C.LLAMA3_ERR_BUFFER_TOO_SMALL {
			C.free(buffer)
			continue
		}
		text := C.GoStringN((*C.char)(buffer), C.int(needed))
		C.free(buffer)
		if err := check(status); err != nil {
			return "", RequestFailed, err
		}
		return text, RequestState(state), nil
	}
}

// Cancel ends a queued or running request (RequestCancelled); one that already ended is left as
// it is.
func (e *Engine) Cancel(id RequestID) error {
	return call(func() C.llama3_status { return C.llama3_engine_cancel(e.raw, C.llama3_request_id(id)) })
}

// Wait blocks until the request has ended, then forgets it (its id becomes unknown; text not yet
// polled is dropped). When a safety filter blocked the request, the error matches ErrBlocked and
// the result is filled all the same.
func (e *Engine) Wait(id RequestID) (EngineResult, error) {
	var result C.llama3_generate_result
	result.struct_size = C.size_t(unsafe.Sizeof(result))
	var state C.int32_t
	err := call(func() C.llama3_status {
		return C.llama3_engine_wait(e.raw, C.llama3_request_id(id), &result, &state)
	})
	if err != nil && !errors.Is(err, ErrBlocked) {
		return EngineResult{}, err
	}
	return EngineResult{
		State:           RequestState(state),
		StopReason:      stopReasonNames[result.stop_reason],
		Filter:          filterNames[result.filter],
		PromptTokens:    int(result.n_prompt_tokens),
		GeneratedTokens: int(result.n_generated_tokens),
	}, err
}
