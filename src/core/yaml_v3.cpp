// yaml.v3's view of a scalar (resolve.go, encode.go stringv, emitterc.go analyze_scalar): when it
// quotes, which style it picks, how it sorts map keys. Used by the emitter (layer_emit.cpp).
#include "layer_detail.hpp"

#include <redispebble/utf8.hpp>

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>

namespace redispebble {

using namespace detail;

namespace {

bool is_plain_safe_char(unsigned char c) { return c >= 0x20 && c != 0x7f; }

// Would a YAML 1.1/1.2 reader (yaml.v3's resolver) take this plain scalar as a non-string?
bool resolves_to_non_string(const std::string& s) {
    static const std::set<std::string> words{"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
                                             "False", "FALSE", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
                                             "NO", "on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF",
                                             "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<"};
    if (s.size() <= 5 && words.count(s)) return true;  // the longest word is 5 bytes
    // Numbers: ints (decimal, 0x, 0o, 0b, with _ and sign) and floats.
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (i == s.size()) return false;
    const std::string_view body = std::string_view(s).substr(i);
    auto all = [&](std::size_t from, auto pred) {
        return from < body.size() &&
               std::all_of(body.begin() + static_cast<long>(from), body.end(), [&](char c) { return pred(c) || c == '_'; });
    };
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X'))
        return all(2, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'b'))
        return all(2, [](char c) { return c >= '0' && c <= '9'; });
    bool digit = false, dot = false, exp = false;
    for (std::size_t k = 0; k < body.size(); ++k) {
        const char c = body[k];
        if (c >= '0' && c <= '9') digit = true;
        else if (c == '_' && digit) continue;
        else if (c == '.' && !dot && !exp) dot = true;
        else if ((c == 'e' || c == 'E') && digit && !exp) {
            exp = true;
            if (k + 1 < body.size() && (body[k + 1] == '-' || body[k + 1] == '+')) ++k;
        } else
            return false;
    }
    return digit;
}

// Can this string be written as a plain scalar (libyaml's analysis, simplified conservatively)?
bool plain_allowed(const std::string& s) {
    if (s.empty()) return false;
    if (s.front() == ' ' || s.back() == ' ') return false;
    static const std::string_view leading = "-?:,[]{}#&*!|>'\"%@`";
    if (leading.find(s.front()) != std::string_view::npos) {
        // "-x", "?x", ":x" are plain-safe when not followed by a space; be conservative otherwise.
        if (!((s.front() == '-' || s.front() == '?' || s.front() == ':') && s.size() > 1 && s[1] != ' ')) return false;
    }
    if (s.back() == ':') return false;
    if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
    if (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) return false;
    for (unsigned char c : s)
        if (!is_plain_safe_char(c)) return false;
    return true;
}

std::string double_quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02X}", c);
            else out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// --- yaml.v3's view of a string (resolve.go, encode.go stringv, emitterc.go analyze_scalar).
// Go's strconv.ParseInt(s, 0, 64) || ParseUint(s, 0, 64) on a string without underscores.
bool go_parses_as_integer(std::string_view s) {
    const auto n = parse_go_integer(s);
    return n && (!n->negative || n->magnitude <= (std::uint64_t{1} << 63));
}

// parseTimestamp: four digits and a dash, then one of yaml.v3's accepted layouts. Approximated by
// shape (date, optionally followed by a time), without calendar validation.
bool yaml_timestamp(std::string_view s) {
    std::size_t i = 0;
    auto num = [&](std::size_t min, std::size_t max) {
        const std::size_t from = i;
        while (i < s.size() && i - from < max && s[i] >= '0' && s[i] <= '9') ++i;
        return i - from >= min;
    };
    auto lit = [&](char c) { return i < s.size() && s[i] == c ? (++i, true) : false; };
    if (!num(4, 4) || !lit('-') || !num(1, 2) || !lit('-') || !num(1, 2)) return false;
    if (i == s.size()) return true;
    const char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ') return false;
    if (!num(1, 2) || !lit(':') || !num(1, 2) || !lit(':') || !num(1, 2)) return false;
    if (lit('.') && !num(1, 9)) return false;
    if (sep == ' ') return i == s.size();
    if (lit('Z')) return i == s.size();
    if (!(lit('+') || lit('-'))) return false;
    return num(2, 2) && lit(':') && num(2, 2) && i == s.size();
}

// resolve("", s) != "!!str", or isBase60Float(s) or isOldBool(s): yaml.v3 double-quotes it.
bool v3_needs_quotes(const std::string& s) {
    static const std::set<std::string> words{"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
                                             "False", "FALSE", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
                                             "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
                                             // isOldBool
                                             "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no",
                                             "No", "NO", "off", "Off", "OFF"};
    if (s.size() <= 5 && words.count(s)) return true;  // the longest word is 5 bytes
    const char c = s[0];
    if (c == '.') {
        // strconv.ParseFloat on ".5", ".5e3".
        return s.size() > 1 && yaml_style_float(s);
    }
    if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        if (yaml_timestamp(s)) return true;
        std::string plain;
        for (char ch : s)
            if (ch != '_') plain += ch;
        if (go_parses_as_integer(plain) || yaml_style_float(plain)) return true;
        // isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
        std::size_t i = (c == '+' || c == '-') ? 1 : 0;
        if (i >= s.size() || !(s[i] >= '0' && s[i] <= '9')) return false;
        while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) ++i;
        int groups = 0;
        while (i < s.size() && s[i] == ':') {
            ++i;
            std::size_t from = i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - from < 2) ++i;
            const std::size_t n = i - from;
            if (n == 0 || (n == 2 && s[from] > '5')) return false;
            ++groups;
        }
        if (groups == 0) return false;
        if (i < s.size() && s[i] == '.') {
            ++i;
            while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) ++i;
        }
        return i == s.size();
    }
    return false;
}

// One UTF-8 code point at s[i] (invalid bytes come back one by one as themselves).
char32_t code_point(const std::string& s, std::size_t i, std::size_t& width) {
    const auto b = static_cast<unsigned char>(s[i]);
    width = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    if (i + width > s.size()) width = 1;
    if (width == 1) return b;
    char32_t cp = b & (0xFF >> (width + 1));
    for (std::size_t k = 1; k < width; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    return cp;
}

bool v3_printable(char32_t c) {
    return c == 0x0A || (c >= 0x20 && c <= 0x7E) || c == 0x85 || (c >= 0xA0 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) || (c >= 0x10000 && c <= 0x10FFFF);
}

bool v3_break(char32_t c) { return c == '\r' || c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029; }

struct scalar_analysis {
    bool multiline = false, block_plain = true, single_quoted = true, block = true;
};

// yaml_emitter_analyze_scalar, block context.
scalar_analysis analyze(const std::string& s) {
    scalar_analysis a;
    if (s.empty()) {
        a.block = false;
        return a;
    }
    bool block_indicators = s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0;
    bool line_breaks = false, special = false, tabs = false, leading_space = false, leading_break = false,
         trailing_space = false, trailing_break = false, break_space = false, space_break = false;
    bool preceded_by_ws = true, previous_space = false, previous_break = false;
    for (std::size_t i = 0, w = 0; i < s.size(); i += w) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (i != 0 && b > ' ' && b < 0x7F && b != ':' && b != '#') {
            // Printable ASCII other than a space, ':' and '#', past the first character: it sets
            // no flag below and only ends a run of spaces or breaks.
            w = 1;
            preceded_by_ws = previous_space = previous_break = false;
            continue;
        }
        const char32_t c = b < 0x80 ? (w = 1, char32_t{b}) : code_point(s, i, w);
        // The next code point: an ASCII byte is itself; anything else is decoded as before, since
        // code_point() reads an overlong form ("\xC0\xA0") as the space it spells.
        const bool followed_by_ws = [&] {
            if (i + w >= s.size()) return true;
            const auto nb = static_cast<unsigned char>(s[i + w]);
            std::size_t w2 = 0;
            const char32_t next = nb < 0x80 ? char32_t{nb} : code_point(s, i + w, w2);
            return next == ' ' || next == '\t';
        }();
        if (i == 0) {
            switch (c) {
            case '#': case ',': case '[': case ']': case '{': case '}': case '&': case '*': case '!': case '|':
            case '>': case '\'': case '"': case '%': case '@': case '`': block_indicators = true; break;
            case '?': case ':': case '-':
                if (followed_by_ws) block_indicators = true;
                break;
            default: break;
            }
        } else if ((c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws)) {
            block_indicators = true;
        }
        if (c == '\t') tabs = true;
        else if (!v3_printable(c)) special = true;
        if (c == ' ') {
            if (i == 0) leading_space = true;
            if (i + w == s.size()) trailing_space = true;
            if (previous_break) break_space = true;
            previous_space = true, previous_break = false;
        } else if (v3_break(c)) {
            line_breaks = true;
            if (i == 0) leading_break = true;
            if (i + w == s.size()) trailing_break = true;
            if (previous_space) space_break = true;
            previous_space = false, previous_break = true;
        } else {
            previous_space = previous_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || v3_break(c) || c == 0;
    }
    a.multiline = line_breaks;
    if (leading_space || leading_break || trailing_space || trailing_break) a.block_plain = false;
    if (trailing_space) a.block = false;
    if (break_space) a.block_plain = a.single_quoted = false;
    if (space_break || tabs || special) a.block_plain = a.single_quoted = false;
    if (space_break || special) a.block = false;
    if (line_breaks || block_indicators) a.block_plain = false;
    return a;
}

// yaml_emitter_write_double_quoted_scalar with unicode on and no line width.
std::string v3_double_quoted(const std::string& s) {
    std::string out = "\"";
    for (std::size_t i = 0, w = 0; i < s.size(); i += w) {
        const char32_t c = code_point(s, i, w);
        if (v3_printable(c) && c != 0xFEFF && !v3_break(c) && c != '"' && c != '\\') {
            out.append(s, i, w);
            continue;
        }
        switch (c) {
        case 0x00: out += "\\0"; break;
        case 0x07: out += "\\a"; break;
        case 0x08: out += "\\b"; break;
        case 0x09: out += "\\t"; break;
        case 0x0A: out += "\\n"; break;
        case 0x0B: out += "\\v"; break;
        case 0x0C: out += "\\f"; break;
        case 0x0D: out += "\\r"; break;
        case 0x1B: out += "\\e"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case 0x85: out += "\\N"; break;
        case 0xA0: out += "\\_"; break;
        case 0x2028: out += "\\L"; break;
        case 0x2029: out += "\\P"; break;
        default:
            if (c <= 0xFF) out += fmt::format("\\x{:02X}", static_cast<unsigned>(c));
            else if (c <= 0xFFFF) out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
            else out += fmt::format("\\U{:08X}", static_cast<unsigned>(c));
        }
    }
    return out + "\"";
}

// A string scalar as yaml.v3 writes it: plain, 'single', "double" or a literal block whose lines
// are indented by `indent` spaces. `key` is a simple-key context (no block scalars).
std::string v3_scalar(const std::string& s, bool key, int indent, int best_indent) {
    const bool can_plain = !v3_needs_quotes(s);
    const scalar_analysis a = analyze(s);
    enum { plain, single, dbl, literal } st = s.find('\n') != std::string::npos ? literal : can_plain ? plain : dbl;
    if (st == plain && !a.block_plain) st = single;
    if (st == single && !a.single_quoted) st = dbl;
    if (st == literal && (!a.block || key)) st = dbl;
    switch (st) {
    case plain: return s;
    case single: {
        std::string out = "'";
        for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
        return out + "'";
    }
    case dbl: return v3_double_quoted(s);
    case literal: break;
    }
    std::string out = "|";
    if (s.front() == ' ' || v3_break(static_cast<unsigned char>(s.front()))) out += std::to_string(best_indent);
    const bool ends_break = s.back() == '\n' || s.back() == '\r';
    if (!ends_break) out += '-';
    else if (s.size() == 1 || s[s.size() - 2] == '\n' || s[s.size() - 2] == '\r') out += '+';
    // Every break is written as is; a line's text is indented, and the first one also ends the
    // header line when no break has done so.
    bool at_line_start = true, broke = false;
    for (char c : s) {
        if (c == '\n') {
            out += '\n';
            at_line_start = broke = true;
            continue;
        }
        if (at_line_start) {
            if (!broke) out += '\n';
            out.append(static_cast<std::size_t>(indent), ' ');
            at_line_start = false;
        }
        out += c;
    }
    // The emitter ends the node; the caller's line break follows. A value ending in a break
    // already wrote it, so drop one.
    if (ends_break && out.back() == '\n') out.pop_back();
    return out;
}

} // namespace

namespace detail {

std::optional<go_integer> parse_go_integer(std::string_view s) {
    go_integer n;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) n.negative = s[0] == '-', s.remove_prefix(1);
    unsigned base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s.remove_prefix(2);
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) base = 8, s.remove_prefix(2);
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) base = 2, s.remove_prefix(2);
    else if (s.size() > 1 && s[0] == '0') base = 8, s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    for (char c : s) {
        const unsigned d = c >= '0' && c <= '9' ? unsigned(c - '0')
                           : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? unsigned((c | 0x20) - 'a' + 10)
                                                                    : 99u;
        if (d >= base) return std::nullopt;
        if (n.magnitude > (std::numeric_limits<std::uint64_t>::max() - d) / base) return std::nullopt;
        n.magnitude = n.magnitude * base + d;
    }
    return n;
}

bool yaml_style_float(std::string_view s) {
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t from = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        return i - from;
    };
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (digits() == 0) return false;
    } else {
        if (digits() == 0) return false;
        if (i < s.size() && s[i] == '.') ++i, digits();
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (digits() == 0) return false;
    }
    return i == s.size();
}

std::string scalar(const std::string& s, style st, bool key, int indent) {
    if (st == style::pebble) return v3_scalar(s, key, indent, 4);
    const bool plain = !v3_needs_quotes(s) && !resolves_to_non_string(s) && plain_allowed(s) && analyze(s).block_plain;
    return plain ? s : double_quoted(s);
}

std::string key_text(const std::string& k, style st) { return scalar(k, st, true); }

namespace {

// A string's bytes as code points: what runes() gives for ASCII, without decoding or copying.
struct ascii_runes {
    std::string_view s;
    std::size_t size() const { return s.size(); }
    char32_t operator[](std::size_t i) const { return static_cast<unsigned char>(s[i]); }
};

bool ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// keyList.Less of yaml.v3 (sorter.go) over two sequences of code points.
template <class Runes>
bool key_less_runes(const Runes& ar, const Runes& br) {
    auto is_digit = [](char32_t c) { return c >= '0' && c <= '9'; };
    auto is_letter = [](char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0; };
    bool digits = false;
    for (std::size_t i = 0; i < ar.size() && i < br.size(); ++i) {
        if (ar[i] == br[i]) {
            digits = is_digit(ar[i]);
            continue;
        }
        const bool al = is_letter(ar[i]), bl = is_letter(br[i]);
        if (al && bl) return ar[i] < br[i];
        if (al || bl) return digits ? al : bl;
        // Go's int64 arithmetic wraps on overflow ("9999999999999999999"); so does this, in uint64
        // (defined), read back as int64 the way Go compares them.
        std::uint64_t an = 0, bn = 0;
        if (ar[i] == '0' || br[i] == '0') {
            for (std::size_t j = i; j-- > 0 && is_digit(ar[j]);) {
                if (ar[j] != '0') {
                    an = bn = 1;
                    break;
                }
            }
        }
        std::size_t ai = i, bi = i;
        for (; ai < ar.size() && is_digit(ar[ai]); ++ai) an = an * 10 + static_cast<std::uint64_t>(ar[ai] - '0');
        for (; bi < br.size() && is_digit(br[bi]); ++bi) bn = bn * 10 + static_cast<std::uint64_t>(br[bi] - '0');
        if (an != bn) return static_cast<std::int64_t>(an) < static_cast<std::int64_t>(bn);
        if (ai != bi) return ai < bi;
        return ar[i] < br[i];
    }
    return ar.size() < br.size();
}

} // namespace

bool v3_key_less(const std::string& a8, const std::string& b8) {
    // Map keys are nearly always ASCII: compare their bytes as they are.
    if (ascii(a8) && ascii(b8)) return key_less_runes(ascii_runes{a8}, ascii_runes{b8});
    auto runes = [](const std::string& s) {
        std::vector<char32_t> out;
        for (std::size_t i = 0, w = 0; i < s.size(); i += w) out.push_back(code_point(s, i, w));
        return out;
    };
    return key_less_runes(runes(a8), runes(b8));
}

std::string format_float(double v) {
    // yaml.v3 writes float64 with strconv.FormatFloat(v, 'g', -1, 64): shortest digits, exponent
    // form when the exponent is < -4 or >= 6 ("1e+06"), and .inf / -.inf / .nan.
    if (std::isnan(v)) return ".nan";
    if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const std::string sci(buf, r.ptr);
    const auto e = sci.find('e');
    const int exp = std::stoi(sci.substr(e + 1));
    if (exp < -4 || exp >= 6) {
        const std::string sign = exp < 0 ? "-" : "+";
        std::string digits = std::to_string(exp < 0 ? -exp : exp);
        if (digits.size() < 2) digits = "0" + digits;
        return sci.substr(0, e) + "e" + sign + digits;
    }
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return std::string(buf, r.ptr);
}

} // namespace detail

} // namespace redispebble
