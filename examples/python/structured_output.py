"""JSON mode, tool calling and logprobs with the Python binding's OpenAI-shaped calls.

    python structured_output.py CHAT_MODEL.gguf      (a Llama 3.1+ instruct model)
"""
import json
import sys

import llama3

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string", "maxLength": 24}},
                   "required": ["city"]}}}
# What a call of that tool looks like, so that the answer always parses as one.
WEATHER_CALL = {"type": "object",
                "properties": {"name": {"const": "get_weather"},
                               "parameters": WEATHER_TOOL["function"]["parameters"]},
                "required": ["name", "parameters"]}
PERSON = {"type": "object",
          "properties": {"name": {"type": "string", "maxLength": 16},
                         "age": {"type": "integer", "minimum": 0, "maximum": 150}},
          "required": ["name", "age"]}

model = llama3.Model(sys.argv[1])

# 1. JSON mode: the answer is JSON valid under the schema.
out = model.create_chat_completion(
    [{"role": "user", "content": "Invent a person. Answer in JSON."}], seed=1, max_tokens=128,
    response_format={"type": "json_schema", "json_schema": {"schema": PERSON}})
print("json:", out["choices"][0]["message"]["content"])

# 2. Tool calling: the definition goes into the prompt; a call comes back as tool_calls.
messages = [{"role": "user", "content": "What is the weather in Paris?"}]
out = model.create_chat_completion(messages, tools=[WEATHER_TOOL], json_schema=WEATHER_CALL,
                                   seed=1, max_tokens=128)
message = out["choices"][0]["message"]
for call in message.get("tool_calls") or []:
    print("tool call:", call["function"]["name"], call["function"]["arguments"])
    # Run the tool, then give the model its result.
    messages += [message, {"role": "tool", "tool_call_id": call["id"],
                           "content": json.dumps({"temperature_c": 21})}]

# 3. Logprobs of the next answer: each token's and the most likely alternatives'.
out = model.create_chat_completion(messages, tools=[WEATHER_TOOL], seed=1, max_tokens=4,
                                   logprobs=True, top_logprobs=1)
for entry in out["choices"][0]["logprobs"]["content"]:
    best = entry["top_logprobs"][0]
    print(f"token {json.dumps(entry['token'])} logprob {entry['logprob']:.3f} "
          f"(best: {json.dumps(best['token'])} {best['logprob']:.3f})")
