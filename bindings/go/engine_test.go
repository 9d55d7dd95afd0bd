package llama3

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestEngineRunsManyRequestsAndMatchesSessions(t *testing.T) {
	model, err := LoadModel(dataFile(t, "LLAMA3_TEST_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	tokenizer, err := model.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	defer tokenizer.Close()
	greedy := DefaultSamplerParams()
	greedy.Temperature = 0
	options := GenerateOptions{MaxTokens: 24}
	prompts := []string{"Once upon a time", "The cat sat", "Lily wanted to"}

	// Each prompt alone in a session: the reference text.
	expected := make([]string, len(prompts))
	encoded := make([][]Token, len(prompts))
	for i, prompt := range prompts {
		if encoded[i], err = tokenizer.Encode(prompt, AddBos); err != nil {
			t.Fatal(err)
		}
		session, err := model.NewSession(SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sampler, err := NewSampler(greedy)
		if err != nil {
			t.Fatal(err)
		}
		result, err := session.Generate(encoded[i], sampler, options, nil)
		if err != nil {
			t.Fatal(err)
		}
		expected[i] = result.Text
		sampler.Close()
		session.Close()
	}

	// All at once through the engine, each polled from its own goroutine: plainly, and drafting
	// with a draft model (the model itself), which must not change a greedy answer.
	for _, engineOptions := range []GenerateOptions{options, {MaxTokens: 24, DraftModel: model, DraftMax: 4}} {
		runEngineRequests(t, model, encoded, greedy, engineOptions, prompts, expected)
	}
}

func runEngineRequests(t *testing.T, model *Model, encoded [][]Token, greedy SamplerParams,
	options GenerateOptions, prompts, expected []string) {
	t.Helper()
	engine, err := model.NewEngine(DefaultEngineOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	texts := make([]string, len(prompts))
	failures := make(chan error, len(prompts))
	var group sync.WaitGroup
	for i := range prompts {
		id, err := engine.Submit(encoded[i], greedy, options)
		if err != nil {
			t.Fatal(err)
		}
		group.Add(1)
		go func(i int, id RequestID) {
			defer group.Done()
			for {
				piece, state, err := engine.Poll(id)
				if err != nil {
					failures <- err
					return
				}
				texts[i] += piece
				if state.Ended() {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			result, err := engine.Wait(id)
			if err != nil {
				failures <- err
				return
			}
			if result.State != RequestFinished || result.GeneratedTokens == 0 {
				failures <- errors.New("request did not finish with tokens")
			}
		}(i, id)
	}
	group.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	for i := range prompts {
		if texts[i] != expected[i] {
			t.Errorf("prompt %q: engine %q, session %q", prompts[i], texts[i], expected[i])
		}
	}
}

func TestEngineCancelAndUnknownIDs(t *testing.T) {
	model, err := LoadModel(dataFile(t, "LLAMA3_TEST_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := model.NewEngine(DefaultEngineOptions())
	model.Close() // the engine keeps the weights alive
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	id, err := engine.Submit([]Token{1, 2, 3}, DefaultSamplerParams(), GenerateOptions{MaxTokens: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Cancel(id); err != nil {
		t.Fatal(err)
	}
	result, err := engine.Wait(id)
	if err != nil || result.State != RequestCancelled {
		t.Fatalf("after cancel: %+v, %v", result, err)
	}
	if _, _, err := engine.Poll(id); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("poll of a forgotten id: %v", err)
	}
	if _, err := engine.Submit(nil, DefaultSamplerParams(), GenerateOptions{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty prompt: %v", err)
	}
}
