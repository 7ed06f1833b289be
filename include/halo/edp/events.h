// A data provider's events, as its agent reads them from files: every event
// has a VID, the reference id of its event group and a timestamp, and any
// number of template fields (age, gender, duration_seconds...) that filters
// and measurements read.
//
// Two file forms, told apart by extension:
//  - ".csv": a header line naming the columns, which must include vid,
//    event_group and timestamp (integer microseconds since the Unix epoch,
//    or RFC 3339 text). Other columns are template fields, whose names may
//    be dotted ("person.gender"); a header may give a type as "age:int",
//    "video_ad.viewed_fraction:double", "gender:string" or
//    "banner_ad.viewable:bool" (true/false or 1/0), and otherwise the first
//    data row decides (an integer makes an int field, another number a
//    double field). Double quotes enclose values with commas, and "" stands
//    for a quote inside them.
//  - ".hev": the columnar form (proto/halo/edp/v1/event_file.proto), about a
//    tenth the size and read without parsing text.
// Readers stream: they hold one batch at a time, never a whole file.
#ifndef HALO_EDP_EVENTS_H_
#define HALO_EDP_EVENTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::edp {

enum class FieldType { kInt, kString, kDouble, kBool };

struct EventField {
  std::string name;
  FieldType type = FieldType::kInt;
  bool operator==(const EventField& other) const = default;
};

// The template fields of a file, in column order.
class EventSchema {
 public:
  EventSchema() = default;
  explicit EventSchema(std::vector<EventField> fields) : fields_(std::move(fields)) {}
  const std::vector<EventField>& fields() const { return fields_; }
  // The field's column, or -1.
  int IndexOf(absl::string_view name) const;
  bool operator==(const EventSchema& other) const = default;

 private:
  std::vector<EventField> fields_;
};

// Strings of one column: row i holds dictionary[ids[i]].
struct StringColumn {
  std::vector<std::string> dictionary;
  std::vector<uint32_t> ids;
  const std::string& At(size_t row) const { return dictionary[ids[row]]; }
};

struct EventColumn {
  std::vector<int64_t> ints;     // an int field, or a bool field as 0 and 1
  std::vector<double> doubles;   // a double field
  StringColumn strings;          // a string field
};

// Events column by column; every column has size() rows.
struct EventBatch {
  std::vector<uint64_t> vids;
  StringColumn event_groups;
  std::vector<int64_t> timestamps_micros;
  std::vector<EventColumn> columns;  // one a schema field

  size_t size() const { return vids.size(); }
  void Clear(size_t column_count);
};

// Rows a reader returns at most at once.
inline constexpr size_t kEventBatchRows = 65536;

class EventReader {
 public:
  virtual ~EventReader() = default;
  const EventSchema& schema() const { return schema_; }
  // Replaces `batch` with the next events; false, and an empty batch, at the
  // end. A malformed file is INVALID_ARGUMENT (DATA_LOSS for a truncated
  // columnar file), naming the file and the line or row group.
  virtual absl::StatusOr<bool> Next(EventBatch& batch) = 0;

 protected:
  EventSchema schema_;
};

// Opens a .csv or .hev file; refuses other extensions.
absl::StatusOr<std::unique_ptr<EventReader>> OpenEventFile(const std::string& path);

// The event files (.csv, .hev) directly in `dir`, sorted by name.
absl::StatusOr<std::vector<std::string>> ListEventFiles(const std::string& dir);

// Writes a .csv or .hev file under a temporary name and moves it into place
// at Close(), so a reader never sees half a file.
class EventWriter {
 public:
  virtual ~EventWriter() = default;
  // Refuses a batch whose columns do not match the schema.
  virtual absl::Status Write(const EventBatch& batch) = 0;
  virtual absl::Status Close() = 0;
};

absl::StatusOr<std::unique_ptr<EventWriter>> CreateEventFile(const std::string& path, const EventSchema& schema);

}  // namespace halo::edp

#endif  // HALO_EDP_EVENTS_H_
