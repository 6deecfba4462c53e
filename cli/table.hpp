#pragma once

// A small aligned-table formatter shared by the read verbs (census, status, top, ...).
// Pure: it builds a string; whether to colour is decided by the caller
// (colour_enabled) so output is byte-for-byte testable.

#include <string>
#include <vector>

namespace tcptune::cli {

enum class Align { kLeft, kRight };

struct Column {
    std::string header;
    Align align = Align::kLeft;
};

// How a row is emphasised when colour is on (ignored otherwise).
enum class RowStyle { kNormal, kDim, kWarn };

class Table {
  public:
    explicit Table(std::vector<Column> columns);

    // Missing cells print empty; extra cells are ignored.
    void add_row(std::vector<std::string> cells, RowStyle style = RowStyle::kNormal);

    // Columns separated by two spaces, no trailing blanks, header in bold when
    // `colour` is true. Ends with a newline.
    std::string render(bool colour) const;

  private:
    struct Row {
        std::vector<std::string> cells;
        RowStyle style;
    };
    std::vector<Column> columns_;
    std::vector<Row> rows_;
};

// True when `fd` is a terminal and NO_COLOR is not set (https://no-color.org; any
// value, even empty, turns colour off).
bool colour_enabled(int fd);

}  // namespace tcptune::cli
