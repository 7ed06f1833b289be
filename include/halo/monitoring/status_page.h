// A role's status page: server-rendered HTML with inline styles and inline
// SVG charts, nothing loaded from elsewhere and no script, so that it reads
// the same in a terminal browser on a VM without internet. Every text given
// is escaped.
#ifndef HALO_MONITORING_STATUS_PAGE_H_
#define HALO_MONITORING_STATUS_PAGE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace halo::monitoring {

std::string HtmlEscape(absl::string_view text);

class StatusPage {
 public:
  // `role` titles the page ("Kingdom", "duchy worker1").
  explicit StatusPage(std::string role);

  void Section(const std::string& title);
  void Paragraph(const std::string& text);
  // A table with `id` (for tests and links), a header row and rows of
  // cells; `empty` is said instead when there are no rows.
  void Table(const std::string& id, const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows, const std::string& empty);
  // Horizontal bars, one a label, as inline SVG; each bar carries its value
  // in data-value.
  void BarChart(const std::string& id, const std::vector<std::pair<std::string, double>>& bars);

  std::string Html() const;

 private:
  std::string role_;
  std::string body_;
};

// "3 s", "4 min", "2 h": how long ago or how long, for a page.
std::string HumanDuration(double seconds);

}  // namespace halo::monitoring

#endif  // HALO_MONITORING_STATUS_PAGE_H_
