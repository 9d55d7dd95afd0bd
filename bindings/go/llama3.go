// Package llama3 runs Llama 3 models on CPUs through the llama3 C ABI (capi/llama3.h, libllama3.so).
//
// Handles (Model, Tokenizer, Session, Sampler) must be released with Close; errors are *Error values
// carrying the library's code and message (compare with errors.Is against ErrContextFull, ...).
// A Model and a Tokenizer may be shared between goroutines; a Session or Sampler is used by one
// goroutine at a time.
//
// Build: against an installed library (cmake --install) nothing is needed in the default prefixes,
// else CGO_CFLAGS/CGO_LDFLAGS from `pkg-config --cflags/--libs llama3`; against the build tree,
// CGO_CFLAGS=-I<repo>/capi CGO_LDFLAGS=-L<build>/lib, and LD_LIBRARY_PATH=<build>/lib to run.
package llama3

/*
#cgo LDFLAGS: -lllama3
#include <stdint.h>
#include <stdlib.h>
#include "llama3.h"

llama3_status llama3go_generate(llama3_session* session, const llama3_token* prompt,
                                size_t n_prompt, llama3_sampler* sampler,
                                llama3_generate_params* params, llama3_generate_result* result,
                                uintptr_t handle);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"unsafe"
)

// Token is a vocabulary id.
type Token = int32

// Tokenize flags.
const (
	AddBos        = uint32(C.LLAMA3_TOKENIZE_ADD_BOS)
	AddEos        = uint32(C.LLAMA3_TOKENIZE_ADD_EOS)
	ParseSpecial  = uint32(C.LLAMA3_TOKENIZE_PARSE_SPECIAL)
	RenderSpecial = uint32(C.LLAMA3_DETOKENIZE_RENDER_SPECIAL)
)

// Code is a status code shared with the C ABI and the C++ library.
type Code int

const (
	CodeInvalidArgument Code = 1
	CodeIO              Code = 2
	CodeBadFormat       Code = 3
	CodeUnsupported     Code = 4
	CodeOutOfMemory     Code = 5
	CodeContextFull     Code = 6
	CodeCancelled       Code = 7
	CodeBlocked         Code = 8
	CodeInternal        Code = 9
	CodeBufferTooSmall  Code = 10
)

// Error is a failure reported by the library.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("llama3: %s: %s", C.GoString(C.llama3_status_name(C.llama3_status(e.Code))), e.Message)
}

// Is matches errors by code, so errors.Is(err, llama3.ErrContextFull) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// Sentinels for errors.Is.
var (
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrIO              = &Error{Code: CodeIO}
	ErrBadFormat       = &Error{Code: CodeBadFormat}
	ErrContextFull     = &Error{Code: CodeContextFull}
	ErrCancelled       = &Error{Code: CodeCancelled}
	// ErrBlocked: a safety filter of GenerateOptions refused the prompt or stopped the answer;
	// the message names the filter and why.
	ErrBlocked = &Error{Code: CodeBlocked}
)

func check(status C.llama3_status) error {
	if status == C.LLAMA3_OK {
		return nil
	}
	return &Error{Code: Code(status), Message: C.GoString(C.llama3_last_error_message())}
}

// call runs f on a locked OS thread so the thread-local last-error message belongs to this call.
func call(f func() C.llama3_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return check(f())
}

// fill runs a "buffer too small -> required size" call twice: to size, then to fill.
func fill(elementSize, extra int, f func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status) ([]byte, int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var needed C.size_t
	status := f(nil, 0, &needed)
	if status != C.LLAMA3_ERR_BUFFER_TOO_SMALL {
		if err := check(status); err != nil {
			return nil, 0, err
		}
	}
	capacity := int(needed) + extra
	buffer := C.malloc(C.size_t(capacity*elementSize + 1))
	defer C.free(buffer)
	if err := check(f(buffer, C.size_t(capacity), &needed)); err != nil {
		return nil, 0, err
	}
	return C.GoBytes(buffer, C.int(int(needed)*elementSize)), int(needed), nil
}

// Version is the library's version at run time.
func Version() string { return C.GoString(C.llama3_version_string()) }

// VersionMatches reports whether the loaded library is the version of the header compiled against.
func VersionMatches() bool { return C.llama3_version() == C.LLAMA3_VERSION_NUMBER }

// Model is a loaded model, immutable and shareable. Sessions keep its weights alive.
type Model struct{ raw *C.llama3_model }

// LoadModel loads a GGUF file.
func LoadModel(path string) (*Model, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var raw *C.llama3_model
	if err := call(func() C.llama3_status { return C.llama3_model_load(cpath, nil, &raw) }); err != nil {
		return nil, err
	}
	return &Model{raw: raw}, nil
}

// Close frees the model handle (safe to call twice).
func (m *Model) Close() error {
	C.llama3_model_free(m.raw)
	m.raw = nil
	return nil
}

// NVocab is the vocabulary size.
func (m *Model) NVocab() int {
	var n C.int32_t
	C.llama3_model_n_vocab(m.raw, &n)
	return int(n)
}

// Tokenizer returns the model's tokenizer (close it too).
func (m *Model) Tokenizer() (*Tokenizer, error) {
	var raw *C.llama3_tokenizer
	if err := call(func() C.llama3_status { return C.llama3_model_tokenizer(m.raw, &raw) }); err != nil {
		return nil, err
	}
	return &Tokenizer{raw: raw}, nil
}

// SessionOptions configure a session; zero values pick the defaults.
type SessionOptions struct {
	NCtx     int // context window; 0: the model's, capped at 4096
	NThreads int // 0: one per hardware thread
}

// NewSession makes a session (KV cache) on the model.
func (m *Model) NewSession(options SessionOptions) (*Session, error) {
	var params C.llama3_session_params
	C.llama3_session_params_init_sized(&params, C.sizeof_llama3_session_params)
	params.n_ctx = C.int32_t(options.NCtx)
	params.n_threads = C.int32_t(options.NThreads)
	var raw *C.llama3_session
	if err := call(func() C.llama3_status { return C.llama3_session_create(m.raw, &params, &raw) }); err != nil {
		return nil, err
	}
	return &Session{raw: raw}, nil
}

// Tokenizer converts text and token ids; shareable between goroutines.
type Tokenizer struct{ raw *C.llama3_tokenizer }

// LoadTokenizer loads tokenizer.json, tokenizer.model or a .gguf's tokenizer.
func LoadTokenizer(path string) (*Tokenizer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var raw *C.llama3_tokenizer
	if err := call(func() C.llama3_status { return C.llama3_tokenizer_load(cpath, &raw) }); err != nil {
		return nil, err
	}
	return &Tokenizer{raw: raw}, nil
}

// Close frees the tokenizer handle.
func (t *Tokenizer) Close() error {
	C.llama3_tokenizer_free(t.raw)
	t.raw = nil
	return nil
}

func tokensFromBytes(bytes []byte, n int) []Token {
	tokens := make([]Token, n)
	for i := range tokens {
		tokens[i] = *(*Token)(unsafe.Pointer(&bytes[i*4]))
	}
	return tokens
}

// Encode tokenizes text; flags: AddBos | AddEos | ParseSpecial.
func (t *Tokenizer) Encode(text string, flags uint32) ([]Token, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	bytes, n, err := fill(4, 0, func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status {
		return C.llama3_tokenize(t.raw, ctext, C.size_t(len(text)), C.uint32_t(flags), (*C.llama3_token)(buffer), capacity, needed)
	})
	if err != nil {
		return nil, err
	}
	return tokensFromBytes(bytes, n), nil
}

// withTokens copies ids into C memory for the duration of f.
func withTokens(tokens []Token, f func(*C.llama3_token) error) error {
	if len(tokens) == 0 {
		return f(nil)
	}
	buffer := (*C.llama3_token)(C.malloc(C.size_t(len(tokens) * 4)))
	defer C.free(unsafe.Pointer(buffer))
	copy(unsafe.Slice((*Token)(unsafe.Pointer(buffer)), len(tokens)), tokens)
	return f(buffer)
}

// Decode turns ids into text; flags: RenderSpecial.
func (t *Tokenizer) Decode(tokens []Token, flags uint32) (string, error) {
	var text string
	err := withTokens(tokens, func(ids *C.llama3_token) error {
		bytes, _, err := fill(1, 1, func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status {
			return C.llama3_detokenize(t.raw, ids, C.size_t(len(tokens)), C.uint32_t(flags), (*C.char)(buffer), capacity, needed)
		})
		text = string(bytes)
		return err
	})
	return text, err
}

// Message is one turn of a dialog: Role is system, user, assistant or ipython.
type Message struct{ Role, Content string }

// EncodeDialog renders a dialog in the Llama 3 chat format, ending with the assistant header.
func (t *Tokenizer) EncodeDialog(messages []Message) ([]Token, error) {
	n := len(messages)
	raw := (*C.llama3_chat_message)(C.malloc(C.size_t(n+1) * C.size_t(unsafe.Sizeof(C.llama3_chat_message{}))))
	defer C.free(unsafe.Pointer(raw))
	items := unsafe.Slice(raw, n+1)
	for i, message := range messages {
		items[i].role = C.CString(message.Role)
		items[i].content = C.CString(message.Content)
		defer C.free(unsafe.Pointer(items[i].role))
		defer C.free(unsafe.Pointer(items[i].content))
	}
	bytes, count, err := fill(4, 0, func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status {
		return C.llama3_chat_encode(t.raw, raw, C.size_t(n), nil, (*C.llama3_token)(buffer), capacity, needed)
	})
	if err != nil {
		return nil, err
	}
	return tokensFromBytes(bytes, count), nil
}

// SamplerParams configure the sampling chain; start from DefaultSamplerParams.
type SamplerParams struct {
	Temperature, TopP, MinP float32
	TopK                    int32
	Seed                    uint64
}

// DefaultSamplerParams are the library's defaults.
func DefaultSamplerParams() SamplerParams {
	var p C.llama3_sampler_params
	C.llama3_sampler_params_init_sized(&p, C.sizeof_llama3_sampler_params)
	return SamplerParams{Temperature: float32(p.temperature), TopP: float32(p.top_p), MinP: float32(p.min_p),
		TopK: int32(p.top_k), Seed: uint64(p.seed)}
}

// raw is the C struct of the parameters.
func (params SamplerParams) raw() (p C.llama3_sampler_params) {
	C.llama3_sampler_params_init_sized(&p, C.sizeof_llama3_sampler_params)
	p.temperature = C.float(params.Temperature)
	p.top_p = C.float(params.TopP)
	p.min_p = C.float(params.MinP)
	p.top_k = C.int32_t(params.TopK)
	p.seed = C.uint64_t(params.Seed)
	return p
}

// Sampler is a seeded sampling chain; one goroutine at a time.
type Sampler struct{ raw *C.llama3_sampler }

// NewSampler makes a sampler.
func NewSampler(params SamplerParams) (*Sampler, error) {
	p := params.raw()
	var raw *C.llama3_sampler
	if err := call(func() C.llama3_status { return C.llama3_sampler_create(&p, &raw) }); err != nil {
		return nil, err
	}
	return &Sampler{raw: raw}, nil
}

// Candidate is a token a draw could return, with its final probability.
type Candidate struct {
	Token       Token
	Probability float32
}

// Candidates lists the tokens a draw from logits could return here (what survives bias,
// penalties, top-k, top-p and min-p), most likely first (ties: lowest id), with their final
// probabilities. It draws nothing and records nothing.
func (s *Sampler) Candidates(logits []float32) ([]Candidate, error) {
	if len(logits) == 0 {
		return nil, &Error{Code: CodeInvalidArgument, Message: "Candidates: no logits"}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	row := (*C.float)(C.malloc(C.size_t(len(logits) * 4)))
	defer C.free(unsafe.Pointer(row))
	copy(unsafe.Slice((*float32)(unsafe.Pointer(row)), len(logits)), logits)
	var n, total C.size_t
	if err := check(C.llama3_sampler_candidates(s.raw, row, C.size_t(len(logits)), nil, 0, &n, &total)); err != nil {
		return nil, err
	}
	out := make([]Candidate, int(total))
	if total == 0 {
		return out, nil
	}
	buffer := (*C.llama3_token_probability)(C.malloc(total * C.size_t(unsafe.Sizeof(C.llama3_token_probability{}))))
	defer C.free(unsafe.Pointer(buffer))
	if err := check(C.llama3_sampler_candidates(s.raw, row, C.size_t(len(logits)), buffer, total, &n, nil)); err != nil {
		return nil, err
	}
	for i, c := range unsafe.Slice(buffer, int(n)) {
		out[i] = Candidate{Token: Token(c.token), Probability: float32(c.probability)}
	}
	return out[:int(n)], nil
}

// Close frees the sampler.
func (s *Sampler) Close() error {
	C.llama3_sampler_free(s.raw)
	s.raw = nil
	return nil
}

// Session is one conversation: KV cache, position, logits. One goroutine at a time.
type Session struct{ raw *C.llama3_session }

// Close frees the session.
func (s *Session) Close() error {
	C.llama3_session_free(s.raw)
	s.raw = nil
	return nil
}

// Decode runs tokens after those in the context and returns a copy of the last logits.
func (s *Session) Decode(tokens []Token) ([]float32, error) {
	err := withTokens(tokens, func(ids *C.llama3_token) error {
		return call(func() C.llama3_status { return C.llama3_session_decode(s.raw, ids, C.size_t(len(tokens))) })
	})
	if err != nil {
		return nil, err
	}
	var data *C.float
	var n C.size_t
	C.llama3_session_logits(s.raw, &data, &n)
	logits := make([]float32, int(n))
	if n > 0 {
		copy(logits, unsafe.Slice((*float32)(unsafe.Pointer(data)), int(n)))
	}
	return logits, nil
}

// FilterNotes returns the safety filters' notes from the last generation (the code scanner's
// warnings, the Guard's verdict on the answer) as a JSON array of strings.
func (s *Session) FilterNotes() (string, error) {
	bytes, _, err := fill(1, 1, func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status {
		return C.llama3_session_filter_notes(s.raw, (*C.char)(buffer), capacity, needed)
	})
	return string(bytes), err
}

// Reset forgets the context.
func (s *Session) Reset() error {
	return call(func() C.llama3_status { return C.llama3_session_reset(s.raw) })
}

// NPast is the number of tokens in the context.
func (s *Session) NPast() int {
	var n C.int32_t
	C.llama3_session_n_past(s.raw, &n)
	return int(n)
}

// SaveState returns the session state as bytes.
func (s *Session) SaveState() ([]byte, error) {
	bytes, _, err := fill(1, 0, func(buffer unsafe.Pointer, capacity C.size_t, needed *C.size_t) C.llama3_status {
		return C.llama3_session_save_state(s.raw, buffer, capacity, needed)
	})
	return bytes, err
}

// LoadState restores state saved from a session of the same model.
func (s *Session) LoadState(state []byte) error {
	if len(state) == 0 {
		return call(func() C.llama3_status { return C.llama3_session_load_state(s.raw, nil, 0) })
	}
	buffer := C.CBytes(state)
	defer C.free(buffer)
	return call(func() C.llama3_status { return C.llama3_session_load_state(s.raw, buffer, C.size_t(len(state))) })
}

// GuardScope says what a GenerateOptions.Guard judges; the zero value judges both.
type GuardScope int

const (
	GuardPromptAndAnswer GuardScope = iota
	GuardPromptOnly
	GuardAnswerOnly
)

// GenerateOptions bound a generation. Zero values pick the library's defaults. The safety
// filters (Guard, CodeScanner, BlockedPhrases) work for sessions and engine requests alike; when
// one blocks, the call fails with an error matching ErrBlocked (docs/c-api.md, "Safety filters").
type GenerateOptions struct {
	MaxTokens   int
	StopStrings []string
	// Engine requests only: the LoRA adapters the request runs with (a Session takes its
	// adapters from SetAdapters).
	Adapters []AdapterScale
	// Speculative decoding with a draft model of the same vocabulary (kept open for a session's
	// call; an engine request holds its weights itself and drafts on the engine's threads), or by
	// prompt lookup with n-grams of up to LookupNgram tokens (1..16), not both; DraftMax (1..32,
	// 0: the default 8) tokens are proposed per step.
	DraftModel   *Model
	DraftThreads int
	LookupNgram  int
	DraftMax     int
	// A Llama Guard judging the prompt before any decode and/or the finished answer.
	Guard      *Guard
	GuardScope GuardScope
	// Stops an answer whose fenced code has a finding of error severity.
	CodeScanner *CodeScanner
	// Phrases that may appear in neither the prompt nor the answer (ASCII case-insensitive).
	BlockedPhrases []string
}

// cStrings copies strings into C memory: the array and a function freeing it all.
func cStrings(strings []string) (**C.char, func()) {
	if len(strings) == 0 {
		return nil, func() {}
	}
	array := (**C.char)(C.malloc(C.size_t(len(strings)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	items := unsafe.Slice(array, len(strings))
	for i, text := range strings {
		items[i] = C.CString(text)
	}
	return array, func() {
		for _, item := range items {
			C.free(unsafe.Pointer(item))
		}
		C.free(unsafe.Pointer(array))
	}
}

// raw is the C struct of the options; free releases the C memory it points to.
func (o GenerateOptions) raw() (params C.llama3_generate_params, free func()) {
	C.llama3_generate_params_init_sized(&params, C.sizeof_llama3_generate_params)
	if o.MaxTokens > 0 {
		params.max_tokens = C.int32_t(o.MaxTokens)
	}
	stops, freeStops := cStrings(o.StopStrings)
	params.stop_strings = stops
	params.n_stop_strings = C.size_t(len(o.StopStrings))
	phrases, freePhrases := cStrings(o.BlockedPhrases)
	params.blocked_phrases = phrases
	params.n_blocked_phrases = C.size_t(len(o.BlockedPhrases))
	adapters, scales, freeAdapters := cAdapters(o.Adapters)
	params.adapters = adapters
	params.adapter_scales = scales
	params.n_adapters = C.size_t(len(o.Adapters))
	if o.DraftModel != nil {
		params.draft_model = o.DraftModel.raw
	}
	params.draft_threads = C.int32_t(o.DraftThreads)
	params.lookup_ngram = C.int32_t(o.LookupNgram)
	if o.DraftMax > 0 {
		params.draft_max = C.int32_t(o.DraftMax)
	}
	if o.Guard != nil {
		params.guard = o.Guard.raw
		params.guard_prompt = C.int32_t(boolInt(o.GuardScope != GuardAnswerOnly))
		params.guard_answer = C.int32_t(boolInt(o.GuardScope != GuardPromptOnly))
	}
	if o.CodeScanner != nil {
		params.code_scanner = o.CodeScanner.raw
	}
	return params, func() {
		freeStops()
		freePhrases()
		freeAdapters()
	}
}

func boolInt(value bool) int {
	if value {
		return 1
	}
	return 0
}

//export goPieceCallback
func goPieceCallback(piece *C.char, length C.size_t, handle C.uintptr_t) C.int {
	onPiece := cgo.Handle(handle).Value().(func(string) bool)
	if onPiece(C.GoStringN(piece, C.int(length))) {
		return 0
	}
	return 1
}

// GenerateResult tells what a generation produced and why it stopped.
type GenerateResult struct {
	Text string // every piece handed to onPiece, cut before a stop string
	// "end_of_generation", "max_tokens", "stop_string", "callback", "context_full", "blocked" (a
	// safety filter refused the prompt) or "filtered" (a safety filter stopped the answer)
	StopReason      string
	Filter          string // the safety filter that blocked: "blocked_phrases", "guard", "code_scanner" or ""
	PromptTokens    int
	GeneratedTokens int
	CachedTokens    int // prompt tokens reused from the context (a BOS-led prompt)
	// Speculative decoding: tokens drafted, of those accepted, and the model's passes.
	Drafted, DraftAccepted, TargetPasses int
}

var stopReasonNames = map[C.int32_t]string{
	C.LLAMA3_STOP_END_OF_GENERATION: "end_of_generation",
	C.LLAMA3_STOP_MAX_TOKENS:        "max_tokens",
	C.LLAMA3_STOP_STOP_STRING:       "stop_string",
	C.LLAMA3_STOP_CALLBACK:          "callback",
	C.LLAMA3_STOP_CONTEXT_FULL:      "context_full",
	C.LLAMA3_STOP_BLOCKED:           "blocked",
	C.LLAMA3_STOP_FILTERED:          "filtered",
}

var filterNames = map[C.int32_t]string{
	C.LLAMA3_FILTER_NONE:            "",
	C.LLAMA3_FILTER_BLOCKED_PHRASES: "blocked_phrases",
	C.LLAMA3_FILTER_GUARD:           "guard",
	C.LLAMA3_FILTER_CODE_SCANNER:    "code_scanner",
}

// Generate feeds prompt, then samples, calling onPiece (if not nil) with each complete piece of
// text (return false to stop). It returns the text and why generation stopped. When a safety
// filter blocks, the error matches ErrBlocked and the result is filled all the same (the text
// handed out before the block, StopReason "blocked" or "filtered", Filter).
func (s *Session) Generate(prompt []Token, sampler *Sampler, options GenerateOptions, onPiece func(string) bool) (GenerateResult, error) {
	params, free := options.raw()
	defer free()
	var text strings.Builder
	collect := func(piece string) bool {
		text.WriteString(piece)
		return onPiece == nil || onPiece(piece)
	}
	handle := cgo.NewHandle(collect)
	defer handle.Delete()
	var result C.llama3_generate_result
	result.struct_size = C.size_t(unsafe.Sizeof(result))
	err := withTokens(prompt, func(ids *C.llama3_token) error {
		return call(func() C.llama3_status {
			return C.llama3go_generate(s.raw, ids, C.size_t(len(prompt)), sampler.raw, &params, &result, C.uintptr_t(handle))
		})
	})
	if err != nil && !errors.Is(err, ErrBlocked) {
		return GenerateResult{}, err
	}
	return GenerateResult{
		Text:            text.String(),
		StopReason:      stopReasonNames[result.stop_reason],
		Filter:          filterNames[result.filter],
		PromptTokens:    int(result.n_prompt_tokens),
		GeneratedTokens: int(result.n_generated_tokens),
		CachedTokens:    int(result.n_cached_tokens),
		Drafted:         int(result.n_drafted),
		DraftAccepted:   int(result.n_draft_accepted),
		TargetPasses:    int(result.n_target_passes),
	}, err
}
