// redispebble — errors of the pure core.
#ifndef REDISPEBBLE_ERROR_HPP
#define REDISPEBBLE_ERROR_HPP

#include <stdexcept>
#include <string>

namespace redispebble {

/// Bad input: a configuration, peer-data, layer or plan document that cannot be used.
/// `what()` is one sentence naming the source, the line and column (when known), the key and what
/// was expected, e.g. `config.yaml:3:7: "port": expected an integer from 1 to 65535, got "abc"`.
/// It never contains a secret's value.
class input_error : public std::runtime_error {
public:
    input_error(std::string source, int line, int column, std::string key, std::string message)
        : std::runtime_error(format(source, line, column, key, message)),
          source_(std::move(source)), line_(line), column_(column), key_(std::move(key)),
          message_(std::move(message)) {}

    /// The document's name (a file path, "layer", "plan", "config"...).
    const std::string& source() const noexcept { return source_; }
    /// 1-based line and column, or 0 when the error is not tied to a position.
    int line() const noexcept { return line_; }
    int column() const noexcept { return column_; }
    /// The key path that is wrong ("port", "services.redis.override"), or "" for the document.
    const std::string& key() const noexcept { return key_; }
    /// What is wrong, without the position prefix.
    const std::string& message() const noexcept { return message_; }

private:
    static std::string format(const std::string& source, int line, int column, const std::string& key,
                              const std::string& message) {
        std::string out = source;
        if (line > 0) {
            out += ':' + std::to_string(line);
            if (column > 0) out += ':' + std::to_string(column);
        }
        out += ": ";
        if (!key.empty()) out += '"' + key + "\": ";
        out += message;
        return out;
    }

    std::string source_;
    int line_;
    int column_;
    std::string key_;
    std::string message_;
};

} // namespace redispebble

#endif
