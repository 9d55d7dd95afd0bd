// llama3.LoraAdapter: a LoRA adapter loaded for a model, shared by sessions and engine requests.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"

namespace llama3::python {

std::vector<ActiveLora> active_adapters(const py::object& adapters) {
  std::vector<ActiveLora> active;
  for (const py::handle item : adapters) {
    if (py::isinstance<py::tuple>(item)) {
      const auto pair = item.cast<py::tuple>();
      if (pair.size() != 2) {
        throw Error(ErrorCode::kInvalidArgument, "an adapter tuple is (LoraAdapter, scale)");
      }
      active.push_back({pair[0].cast<LoraAdapter>(), pair[1].cast<float>()});
    } else {
      active.push_back({item.cast<LoraAdapter>(), 1.0f});
    }
  }
  return active;
}

void register_lora(py::module_& m) {
  py::class_<LoraAdapter>(m, "LoraAdapter", R"doc(
A LoRA adapter (adapter_config.json + adapter_model.safetensors as PEFT and torchtune export it,
torchtune's own adapter_model.pt, or PEFT's adapter_model.bin; PEFT's or torchtune's names),
loaded for one model and checked against its shapes. Immutable: any number of sessions and engine
requests may use it at once. Pass it to Session.set_adapters or Engine.submit(adapters=...).
)doc")
      .def_static(
          "load",
          [](const py::object& model, const std::filesystem::path& path) {
            const Model& loaded = model.cast<PyModel&>().get();
            py::gil_scoped_release release;
            return LoraAdapter::load(loaded, path);
          },
          py::arg("model"), py::arg("path"), R"doc(
Loads an adapter for `model`.

Arguments:
  model: the llama3.Model it will run with.
  path: a PEFT or torchtune adapter folder, or its .safetensors, .pt or .bin file with
    adapter_config.json beside it.

Raises:
  IoError, BadFormatError (naming the tensor or key: a shape or rank mismatch, a missing A or B,
  NaN/Inf, an unknown target), UnsupportedError (DoRA, per-module ranks, bias or embedding
  adapters).

Example:
  >>> adapter = llama3.LoraAdapter.load(model, "my-adapter")
  >>> session.set_adapters([(adapter, 0.8)])
)doc")
      .def_property_readonly("rank", &LoraAdapter::rank)
      .def_property_readonly("alpha", &LoraAdapter::alpha)
      .def_property_readonly("scale", &LoraAdapter::scale,
                             "lora_alpha / r (lora_alpha / sqrt(r) with rsLoRA): what a user "
                             "scale of 1 applies.")
      .def_property_readonly("targets", &LoraAdapter::targets,
                             "The target modules present (q_proj, ..., down_proj).")
      .def_property_readonly("name", &LoraAdapter::name)
      .def("__repr__", [](const LoraAdapter& adapter) {
        return "<llama3.LoraAdapter " + adapter.name() + " rank " + std::to_string(adapter.rank()) +
               ">";
      });
}

}  // namespace llama3::python
