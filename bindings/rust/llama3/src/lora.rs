//! LoRA adapters (docs/lora.md): loaded for one model, immutable, shareable between threads and
//! requests; a clone is another handle on the same adapter.
use crate::{c_path, check, Model, Result};
use llama3_sys as sys;
use std::path::Path;
use std::ptr;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct LoraAdapter {
    handle: Arc<LoraHandle>,
}

#[derive(Debug)]
struct LoraHandle(*mut sys::llama3_lora);

// The C adapter is immutable; sessions and requests on any thread may use it at once.
unsafe impl Send for LoraHandle {}
unsafe impl Sync for LoraHandle {}

impl Drop for LoraHandle {
    fn drop(&mut self) {
        unsafe { sys::llama3_lora_free(self.0) }
    }
}

impl LoraAdapter {
    /// A PEFT folder (adapter_config.json + adapter_model.safetensors) or its .safetensors file,
    /// for `model` (`ErrorKind::BadFormat` naming the tensor for a shape that does not fit it).
    pub fn load(model: &Model, path: impl AsRef<Path>) -> Result<LoraAdapter> {
        let path = c_path(path.as_ref())?;
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_lora_load(model.raw(), path.as_ptr(), &mut raw))? };
        Ok(LoraAdapter {
            handle: Arc::new(LoraHandle(raw)),
        })
    }

    /// The rank r and the adapter's own scale (lora_alpha / r, or / sqrt(r) with rsLoRA).
    pub fn info(&self) -> (i32, f32) {
        let (mut rank, mut scale) = (0, 0.0f32);
        unsafe { sys::llama3_lora_info(self.raw(), &mut rank, &mut scale) };
        (rank, scale)
    }

    pub(crate) fn raw(&self) -> *mut sys::llama3_lora {
        self.handle.0
    }
}
