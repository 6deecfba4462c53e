#include "table.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace tcptune::cli {

namespace {
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kReset = "\x1b[0m";
}  // namespace

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells, RowStyle style) {
    cells.resize(columns_.size());
    rows_.push_back(Row{std::move(cells), style});
}

std::string Table::render(bool colour) const {
    std::vector<std::size_t> widths(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        widths[c] = columns_[c].header.size();
        for (const auto& row : rows_) {
            widths[c] = std::max(widths[c], row.cells[c].size());
        }
    }
    auto format_line = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            const std::string& cell = cells[c];
            const std::string pad(widths[c] - cell.size(), ' ');
            if (c > 0) {
                line += "  ";
            }
            line += columns_[c].align == Align::kRight ? pad + cell : cell + pad;
        }
        line.erase(line.find_last_not_of(' ') + 1);
        return line;
    };

    std::vector<std::string> headers;
    for (const auto& column : columns_) {
        headers.push_back(column.header);
    }
    std::string out;
    out += colour ? kBold + format_line(headers) + kReset : format_line(headers);
    out += '\n';
    for (const auto& row : rows_) {
        const std::string line = format_line(row.cells);
        if (colour && row.style == RowStyle::kDim) {
            out += kDim + line + kReset;
        } else if (colour && row.style == RowStyle::kWarn) {
            out += kYellow + line + kReset;
        } else {
            out += line;
        }
        out += '\n';
    }
    return out;
}

bool colour_enabled(int fd) {
    return std::getenv("NO_COLOR") == nullptr && ::isatty(fd) == 1;
}

}  // namespace tcptune::cli
