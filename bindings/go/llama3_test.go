package llama3

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func dataFile(t *testing.T, variable string) string {
	path := os.Getenv(variable)
	if _, err := os.Stat(path); path == "" || err != nil {
		t.Skipf("%s (%s) is missing", variable, path)
	}
	return path
}

func TestVersionMatchesTheHeader(t *testing.T) {
	if !VersionMatches() || Version() != "0.1.0" {
		t.Fatalf("version %s does not match the header", Version())
	}
}

func TestGenerationMatchesTheCppAPI(t *testing.T) {
	modelPath := dataFile(t, "LLAMA3_TEST_MODEL")
	reference, err := os.ReadFile(dataFile(t, "LLAMA3_REFERENCE_TEXT"))
	if err != nil {
		t.Fatal(err)
	}
	prompt := os.Getenv("LLAMA3_TEST_PROMPT")
	nTokens, _ := strconv.Atoi(os.Getenv("LLAMA3_TEST_N_TOKENS"))
	seed, _ := strconv.ParseUint(os.Getenv("LLAMA3_TEST_SEED"), 10, 64)
	temperature, _ := strconv.ParseFloat(os.Getenv("LLAMA3_TEST_TEMPERATURE"), 32)

	model, err := LoadModel(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	tokenizer, err := model.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	defer tokenizer.Close()
	ids, err := tokenizer.Encode(prompt, AddBos|ParseSpecial)
	if err != nil {
		t.Fatal(err)
	}
	session, err := model.NewSession(SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	params := DefaultSamplerParams()
	params.Seed = seed
	params.Temperature = float32(temperature)
	sampler, err := NewSampler(params)
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.Close()
	var text strings.Builder
	result, err := session.Generate(ids, sampler, GenerateOptions{MaxTokens: nTokens}, func(piece string) bool {
		text.WriteString(piece)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if result.Text != text.String() || result.GeneratedTokens == 0 || result.PromptTokens != len(ids) {
		t.Fatalf("result %+v does not carry the text the callback saw (%q)", result, text.String())
	}
	if result.StopReason != "max_tokens" && result.StopReason != "end_of_generation" {
		t.Fatalf("stop reason %q", result.StopReason)
	}
	if got := prompt + text.String() + "\n"; got != string(reference) {
		t.Fatalf("got %q, the C++ API produced %q", got, reference)
	}

	state, err := session.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := model.NewSession(SessionOptions{})
	defer other.Close()
	if err := other.LoadState(state); err != nil || other.NPast() != session.NPast() {
		t.Fatalf("state did not round-trip: %v", err)
	}
	// The restored session continues exactly as the saved one: the same next token gives the same
	// logits, bit for bit (the KV cache came back, not only the position).
	next := []Token{ids[len(ids)-1]}
	want, err := session.Decode(next)
	if err != nil {
		t.Fatal(err)
	}
	got, err := other.Decode(next)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("restored session gave %d logits, the saved one %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("restored session's logit %d is %v, the saved one's %v", i, got[i], want[i])
		}
	}
	if err := other.LoadState([]byte("garbage bytes, not a state")); !errors.Is(err, ErrBadFormat) {
		t.Fatalf("damaged state gave %v", err)
	}
}

func TestErrorsAreIdiomatic(t *testing.T) {
	_, err := LoadModel("/nonexistent/model.gguf")
	var llamaErr *Error
	if !errors.Is(err, ErrIO) || !errors.As(err, &llamaErr) || !strings.Contains(llamaErr.Message, "/nonexistent") {
		t.Fatalf("missing file gave %v", err)
	}
	if _, err := NewSampler(SamplerParams{TopP: 2}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad top_p gave %v", err)
	}
	model, err := LoadModel(dataFile(t, "LLAMA3_TINY_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	session, _ := model.NewSession(SessionOptions{NCtx: 8, NThreads: 1})
	defer session.Close()
	if _, err := session.Decode(make([]Token, 9)); !errors.Is(err, ErrContextFull) {
		t.Fatalf("overfull decode gave %v", err)
	}
	if _, err := session.Decode([]Token{Token(model.NVocab())}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("out-of-range id gave %v", err)
	}
	logits, err := session.Decode([]Token{1, 2})
	if err != nil || len(logits) != model.NVocab() {
		t.Fatalf("decode gave %d logits, %v", len(logits), err)
	}
}

func TestTokenizerAndChat(t *testing.T) {
	tokenizer, err := LoadTokenizer(dataFile(t, "LLAMA3_VOCAB"))
	if err != nil {
		t.Fatal(err)
	}
	defer tokenizer.Close()
	ids, err := tokenizer.Encode("Hello, world!", 0)
	if err != nil || len(ids) != 4 || ids[0] != 9906 {
		t.Fatalf("encode gave %v, %v", ids, err)
	}
	if text, _ := tokenizer.Decode(ids, 0); text != "Hello, world!" {
		t.Fatalf("decode gave %q", text)
	}
	dialog, err := tokenizer.EncodeDialog([]Message{{"system", "Be brief."}, {"user", "Hi"}})
	if err != nil || dialog[0] != 128000 {
		t.Fatalf("dialog gave %v, %v", dialog, err)
	}
	if _, err := tokenizer.EncodeDialog([]Message{{"robot", "Hi"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unknown role gave %v", err)
	}
}
