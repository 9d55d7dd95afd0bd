module llama3.dev/llama3

go 1.19
