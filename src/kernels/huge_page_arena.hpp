// Anonymous memory for packed weights, carved from large 2 MiB-aligned regions so that transparent
// huge pages cover nearly all of it. Each matrix mapped on its own would start and end mid huge
// page, and a 1B model's small matrices (K/V projections are 0.6 MB) would get none: a third of
// its packed bytes sat on 4 KiB pages, which on this VM cost 4-15x more to fault in at load and
// one TLB entry per 4 KiB when every token streams them.
#pragma once

#include <cstddef>

namespace llama3::kernels {

// Page-aligned memory (zeroed on first touch), huge pages advised. Thread-safe.
std::byte* allocate_huge_page_memory(std::size_t bytes);

// Gives back memory from allocate_huge_page_memory (same size). Its pages return to the system at
// once; a region's address space is unmapped when nothing in it is in use.
void release_huge_page_memory(std::byte* at, std::size_t bytes);

}  // namespace llama3::kernels
