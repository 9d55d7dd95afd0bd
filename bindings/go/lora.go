package llama3

/*
#include <stdint.h>
#include <stdlib.h>
#include "llama3.h"
*/
import "C"

import "unsafe"

// LoraAdapter is a LoRA adapter loaded for one model (docs/lora.md); immutable and shareable.
// Sessions and engine requests that use it keep it alive, so it may be closed first.
type LoraAdapter struct{ raw *C.llama3_lora }

// AdapterScale is an adapter with the scale it runs at (0: off, 1: as trained).
type AdapterScale struct {
	Adapter *LoraAdapter
	Scale   float32
}

// LoadLora loads a PEFT folder (adapter_config.json + adapter_model.safetensors) or its
// .safetensors file for model.
func (m *Model) LoadLora(path string) (*LoraAdapter, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var raw *C.llama3_lora
	if err := call(func() C.llama3_status { return C.llama3_lora_load(m.raw, cpath, &raw) }); err != nil {
		return nil, err
	}
	return &LoraAdapter{raw: raw}, nil
}

// Close frees the adapter handle.
func (a *LoraAdapter) Close() error {
	C.llama3_lora_free(a.raw)
	a.raw = nil
	return nil
}

// Info is the adapter's rank and its own scale (lora_alpha / r, or / sqrt(r) with rsLoRA).
func (a *LoraAdapter) Info() (rank int, scale float32) {
	var r C.int32_t
	var s C.float
	C.llama3_lora_info(a.raw, &r, &s)
	return int(r), float32(s)
}

// cAdapters copies adapters and their scales into C memory: both arrays and a function freeing
// them.
func cAdapters(adapters []AdapterScale) (**C.llama3_lora, *C.float, func()) {
	if len(adapters) == 0 {
		return nil, nil, func() {}
	}
	n := C.size_t(len(adapters))
	pointers := (**C.llama3_lora)(C.malloc(n * C.size_t(unsafe.Sizeof((*C.llama3_lora)(nil)))))
	scales := (*C.float)(C.malloc(n * 4))
	pointerItems, scaleItems := unsafe.Slice(pointers, len(adapters)), unsafe.Slice(scales, len(adapters))
	for i, adapter := range adapters {
		if adapter.Adapter != nil {
			pointerItems[i] = adapter.Adapter.raw
		}
		scaleItems[i] = C.float(adapter.Scale)
	}
	return pointers, scales, func() {
		C.free(unsafe.Pointer(pointers))
		C.free(unsafe.Pointer(scales))
	}
}

// SetAdapters replaces the session's adapters from the next decode on; none is the base model.
// The context already decoded keeps what the earlier adapters computed.
func (s *Session) SetAdapters(adapters []AdapterScale) error {
	pointers, scales, free := cAdapters(adapters)
	defer free()
	return call(func() C.llama3_status {
		return C.llama3_session_set_adapters(s.raw, pointers, scales, C.size_t(len(adapters)))
	})
}
