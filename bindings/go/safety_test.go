package llama3

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func greedySampler(t *testing.T) *Sampler {
	params := DefaultSamplerParams()
	params.Temperature = 0
	sampler, err := NewSampler(params)
	if err != nil {
		t.Fatal(err)
	}
	return sampler
}

// generateWith runs a greedy generation on a fresh session.
func generateWith(t *testing.T, model *Model, prompt []Token, options GenerateOptions) (GenerateResult, int, error) {
	session, err := model.NewSession(SessionOptions{NThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	sampler := greedySampler(t)
	defer sampler.Close()
	result, err := session.Generate(prompt, sampler, options, nil)
	return result, session.NPast(), err
}

func TestBlockedPhrasesRefuseThePromptAndStopTheAnswer(t *testing.T) {
	model, err := LoadModel(dataFile(t, "LLAMA3_TEST_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	tokenizer, _ := model.Tokenizer()
	defer tokenizer.Close()
	prompt, _ := tokenizer.Encode("Once upon a time", AddBos)

	free, _, err := generateWith(t, model, prompt, GenerateOptions{MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	result, nPast, err := generateWith(t, model, prompt, GenerateOptions{MaxTokens: 40, BlockedPhrases: []string{"UPON"}})
	if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "prompt was refused by blocked_phrases") {
		t.Fatalf("the prompt was not refused: %v", err)
	}
	if result.StopReason != "blocked" || result.Filter != "blocked_phrases" || result.Text != "" || nPast != 0 {
		t.Fatalf("refused prompt: %+v, n_past %d", result, nPast)
	}

	// A word the model writes (greedy, so it writes it again) and the prompt does not hold stops
	// the answer there.
	word := ""
	for _, field := range strings.Fields(free.Text) {
		field = strings.ToLower(strings.TrimFunc(field, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }))
		if len(field) >= 4 && !strings.Contains("once upon a time", field) {
			word = field
			break
		}
	}
	if word == "" {
		t.Fatalf("no word of four letters in the free answer %q", free.Text)
	}
	result, _, err = generateWith(t, model, prompt, GenerateOptions{MaxTokens: 40, BlockedPhrases: []string{word}})
	if !errors.Is(err, ErrBlocked) || result.StopReason != "filtered" || result.Filter != "blocked_phrases" {
		t.Fatalf("the answer was not stopped at %q: %+v, %v", word, result, err)
	}
	if !strings.HasPrefix(free.Text, result.Text) || strings.Contains(strings.ToLower(result.Text), strings.ToLower(word)) {
		t.Fatalf("stopped text %q against the free %q (phrase %q)", result.Text, free.Text, word)
	}

	// The engine takes the same options; its Wait reports the block.
	engine, err := model.NewEngine(DefaultEngineOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	id, err := engine.Submit(prompt, DefaultSamplerParams(), GenerateOptions{MaxTokens: 4, BlockedPhrases: []string{"upon"}})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := engine.Wait(id)
	if !errors.Is(err, ErrBlocked) || ended.StopReason != "blocked" || ended.Filter != "blocked_phrases" {
		t.Fatalf("engine request: %+v, %v", ended, err)
	}

	_, _, err = generateWith(t, model, prompt, GenerateOptions{BlockedPhrases: []string{""}})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "blocked_phrases[0] is empty") {
		t.Fatalf("an empty phrase: %v", err)
	}
}

func TestCodeScannerScansAndLetsProseThrough(t *testing.T) {
	scanner, err := NewCodeScanner("")
	if err != nil {
		t.Fatal(err)
	}
	defer scanner.Close()
	json, err := scanner.Scan("char b[8];\nstrcpy(b, s);\n", "c", false)
	if err != nil || !strings.Contains(json, `"rule_id":"c.strcpy"`) {
		t.Fatalf("scan: %s, %v", json, err)
	}
	if _, err := NewCodeScanner(`{"rules": 3}`); !errors.Is(err, ErrBadFormat) {
		t.Fatalf("bad rules: %v", err)
	}
	model, err := LoadModel(dataFile(t, "LLAMA3_TEST_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	// stories260K writes no code: nothing to stop.
	result, _, err := generateWith(t, model, []Token{1}, GenerateOptions{MaxTokens: 16, CodeScanner: scanner})
	if err != nil || result.GeneratedTokens == 0 || result.Filter != "" {
		t.Fatalf("prose with a scanner: %+v, %v", result, err)
	}
}

func TestGuardBlocksExactlyWhenItsVerdictIsNotSafe(t *testing.T) {
	model, err := LoadModel(dataFile(t, "LLAMA3_TINY_LLAMA31_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	if _, err := model.NewGuard(DefaultGuardOptions()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("the test model names no Llama Guard, yet: %v", err)
	}
	options := DefaultGuardOptions()
	options.Version = Guard3
	options.MaxNewTokens = 4
	options.Threads = 1
	guard, err := model.NewGuard(options)
	if err != nil {
		t.Fatal(err)
	}
	text := "How do I bake bread?"
	verdict, err := guard.Classify([]Message{{Role: "user", Content: text}})
	if err != nil || !strings.HasPrefix(verdict, `{"verdict":"`) {
		t.Fatalf("verdict %s, %v", verdict, err)
	}
	safe := strings.HasPrefix(verdict, `{"verdict":"safe"`)
	tokenizer, _ := model.Tokenizer()
	defer tokenizer.Close()
	prompt, _ := tokenizer.Encode(text, AddBos)
	generate := GenerateOptions{MaxTokens: 3, Guard: guard, GuardScope: GuardPromptOnly}
	result, nPast, err := generateWith(t, model, prompt, generate)
	if safe {
		if err != nil || nPast == 0 {
			t.Fatalf("a safe prompt was blocked: %v", err)
		}
	} else if !errors.Is(err, ErrBlocked) || result.Filter != "guard" || result.StopReason != "blocked" || nPast != 0 ||
		!strings.Contains(err.Error(), "refused by guard (llama guard: ") {
		t.Fatalf("verdict %s, yet: %+v, %v", verdict, result, err)
	}

	// The answer is judged once complete; the verdict is a note either way.
	session, _ := model.NewSession(SessionOptions{NThreads: 1})
	defer session.Close()
	sampler := greedySampler(t)
	defer sampler.Close()
	_, err = session.Generate(prompt, sampler, GenerateOptions{MaxTokens: 3, Guard: guard, GuardScope: GuardAnswerOnly}, nil)
	if err != nil && !errors.Is(err, ErrBlocked) {
		t.Fatal(err)
	}
	if notes, err := session.FilterNotes(); err != nil || !strings.HasPrefix(notes, `["llama guard: `) {
		t.Fatalf("notes %s, %v", notes, err)
	}
	guard.Close()
}

// writeTinyAdapter writes a rank-2 PEFT adapter on layer 0's q_proj of the tiny model (dim 256):
// safetensors (u64 header length, JSON header, f32 data) with adapter_config.json beside it.
func writeTinyAdapter(t *testing.T, folder string) {
	const rank, dim = 2, 256
	aBytes := rank * dim * 4
	header := `{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight":{"dtype":"F32","shape":[2,256],` +
		`"data_offsets":[0,` + strconv.Itoa(aBytes) + `]},"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight":` +
		`{"dtype":"F32","shape":[256,2],"data_offsets":[` + strconv.Itoa(aBytes) + `,` + strconv.Itoa(2*aBytes) + `]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	data := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	data = append(data, header...)
	for n := 0; n < 2*rank*dim; n++ {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(0.05*float32(n%7-3)))
	}
	if err := os.WriteFile(filepath.Join(folder, "adapter_model.safetensors"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	config := `{"peft_type": "LORA", "r": 2, "lora_alpha": 4}`
	if err := os.WriteFile(filepath.Join(folder, "adapter_config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoraAdaptersChangeASessionAndRunInEngineRequests(t *testing.T) {
	model, err := LoadModel(dataFile(t, "LLAMA3_TINY_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	if _, err := model.LoadLora("/nonexistent/adapter"); !errors.Is(err, ErrIO) {
		t.Fatalf("a missing adapter: %v", err)
	}
	folder := t.TempDir()
	writeTinyAdapter(t, folder)
	adapter, err := model.LoadLora(folder)
	if err != nil {
		t.Fatal(err)
	}
	if rank, scale := adapter.Info(); rank != 2 || scale != 2 {
		t.Fatalf("info: rank %d scale %g", rank, scale)
	}
	session, _ := model.NewSession(SessionOptions{NThreads: 1})
	defer session.Close()
	tokens := []Token{1, 5, 9, 200}
	base, _ := session.Decode(tokens)
	decodeWith := func(scale float32) []float32 {
		if err := session.SetAdapters([]AdapterScale{{adapter, scale}}); err != nil {
			t.Fatal(err)
		}
		session.Reset()
		logits, err := session.Decode(tokens)
		if err != nil {
			t.Fatal(err)
		}
		return logits
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return len(a) == len(b)
	}
	if !same(decodeWith(0), base) || same(decodeWith(1), base) {
		t.Fatal("scale 0 must be the base model bit for bit, scale 1 must not")
	}
	if err := session.SetAdapters([]AdapterScale{{adapter, float32(math.NaN())}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a NaN scale: %v", err)
	}

	engine, _ := model.NewEngine(DefaultEngineOptions())
	defer engine.Close()
	id, err := engine.Submit(tokens, DefaultSamplerParams(), GenerateOptions{MaxTokens: 3, Adapters: []AdapterScale{{adapter, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	adapter.Close() // the request keeps it alive
	if ended, err := engine.Wait(id); err != nil || ended.State != RequestFinished {
		t.Fatalf("engine request with an adapter: %+v, %v", ended, err)
	}
}

func TestSpeculativeOptionsKeepGreedyOutput(t *testing.T) {
	model, err := LoadModel(dataFile(t, "LLAMA3_TEST_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	tokenizer, _ := model.Tokenizer()
	defer tokenizer.Close()
	prompt, _ := tokenizer.Encode("Once upon a time", AddBos)
	plain, _, err := generateWith(t, model, prompt, GenerateOptions{MaxTokens: 32})
	if err != nil || plain.TargetPasses != 0 {
		t.Fatalf("plain: %+v, %v", plain, err)
	}
	for _, options := range []GenerateOptions{
		{MaxTokens: 32, LookupNgram: 3, DraftMax: 4},
		{MaxTokens: 32, DraftModel: model},
	} {
		result, _, err := generateWith(t, model, prompt, options)
		if err != nil || result.Text != plain.Text || result.TargetPasses == 0 || result.DraftAccepted > result.Drafted {
			t.Fatalf("speculative %+v: %+v, %v (plain %q)", options, result, err, plain.Text)
		}
	}
}

func TestSamplerCandidatesAreWhatADrawCanReturn(t *testing.T) {
	logits := []float32{0.5, 2.0, 1.0, -1.0, 1.0}
	greedy := greedySampler(t)
	defer greedy.Close()
	if got, err := greedy.Candidates(logits); err != nil || len(got) != 1 || got[0] != (Candidate{1, 1}) {
		t.Fatalf("greedy candidates: %v, %v", got, err)
	}
	params := DefaultSamplerParams()
	params.Temperature, params.TopK, params.TopP = 1, 3, 1
	top3, _ := NewSampler(params)
	defer top3.Close()
	got, err := top3.Candidates(logits)
	z := math.Exp(2) + 2*math.Exp(1)
	if err != nil || len(got) != 3 || got[0].Token != 1 || got[1].Token != 2 || got[2].Token != 4 ||
		math.Abs(float64(got[0].Probability)-math.Exp(2)/z) > 1e-5 {
		t.Fatalf("top-3 candidates: %v, %v", got, err)
	}
}
