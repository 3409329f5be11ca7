// JSON text as Go's encoding/json writes it, for documents built by hand where that matters to a client: strings
// escape <, > and & as \u003c \u003e \u0026, U+2028/U+2029 as \u2028/\u2029, and invalid UTF-8 becomes \ufffd.
#pragma once

#include <string>
#include <string_view>

namespace nsq {

// A quoted JSON string.
std::string go_json_string(std::string_view s);

}  // namespace nsq
