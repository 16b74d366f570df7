// Package exchange moves srm's data in and out as files people and other
// tools read: spreadsheets (CSV and XLSX) of every list srm shows, the
// customer responsibility matrix (CRM) auditors ask for, the import of
// workloads from the same layout, and the OSCAL system security plan of a
// workload. It is pure: no database, no HTTP. Callers stream rows from the
// store into a Writer, and hand parsed imports to the store.
//
// # Tables
//
// NewWriter(format, w, sheet, columns) writes the header row, then Write
// takes one row of Values (Text, Int, Bool, Time, ID) at a time; Close
// completes the file, or Abort gives it up after a failure (for XLSX,
// nothing has been sent then, and the temporary file is removed). Both formats stream in constant memory whatever the
// number of rows (TestExportStreamsInConstantMemory, BenchmarkExport):
//
//   - CSV: encoding/csv through a 32 KiB buffer, UTF-8 without a byte
//     order mark; bytes reach w as rows are written.
//   - XLSX: excelize's StreamWriter, header bold and frozen, column widths,
//     text as inline strings and never formulas, numbers as numbers. The
//     sheet's XML stays in memory up to 16 MiB (excelize.StreamChunkSize)
//     and then goes to a temporary file (os.TempDir, "excelize-*", removed
//     by Close, about 1 KiB a checklist row). Close zips the workbook
//     straight into w (excelize would otherwise build the whole .xlsx in a
//     bytes.Buffer). So an XLSX response starts only at Close: a handler
//     can still answer with an error page if the rows fail before it.
//
// Times are text in both formats, ISO 8601 in UTC (RFC 3339), so a
// spreadsheet shows and gives back exactly what srm stored; yes/no cells
// are "yes" and "no".
//
// # Formula cells
//
// Every text cell goes through SafeCell, in both formats: text beginning
// with = + - @, a tab or a carriage return gets a leading single quote, so
// no spreadsheet runs it. XLSX cells are plain strings anyway; they keep
// the quote so that a sheet saved again as CSV stays inert, and so both
// formats hold the same text. UnescapeCell undoes SafeCell exactly (text
// that already starts with quotes and then a formula character gets one
// more), and the import applies it to every cell: an export reads back as
// the data it came from.
//
// # Layouts
//
// The headers (the Col* constants, in ChecklistColumns, PortfolioColumns,
// QueueColumns, MatrixColumns and CRMColumns) are stable: columns may be
// added at the end, never renamed. ChecklistRow, PortfolioRow, QueueRow,
// MatrixRow and CRMRow build a row from srm's types.
//
// The CRM follows FedRAMP's: control id, control name, responsibility
// (Customer, Shared, Inherited from Azure), what Azure provides, what the
// customer must do, owner, status (Complete, Open, Not applicable, and
// Inherited for a control Azure carries alone), and the reasons for an
// override or for not applicable.
//
// # Import
//
// ReadCSV and ReadXLSX read workloads, and optionally their statuses and
// owners, from the checklist or the portfolio layout: the columns
// workload, model and baseline are needed; description, layer, control id,
// control, owner, complete, completed by, completed at, note, evidence, not
// applicable, not applicable reason, override party, override reason and
// version are read when present; the others (party, why, done, total,
// percent) are srm's to compute and are ignored. A row naming no control
// is a workload alone. The parse never stops at the first problem: Import
// lists every Problem with its row (the header is row 1) and column, using
// srm's own validators, and the caller applies nothing unless there are
// none. Files over 10 MiB or 100,000 rows (ImportOptions) are refused with
// ErrTooLarge.
//
// # OSCAL
//
// WriteSSP writes the OSCAL 1.1.2 system security plan of a workload
// (BuildSSP builds it as go-oscal's types): the workload is the system and
// its "this-system" component; Azure under the workload's model is a
// leveraged, external component whose by-component export says what it
// provides and the responsibilities it leaves; the workload's component
// inherits what is provided and satisfies those responsibilities. Owners
// are parties in the control-owner role (Azure in the
// cloud-service-provider role, also on what it provides); the SSP imports
// Profile.Href, or a back-matter resource naming the catalog when it has
// none; the customer's status is the
// implementation status (implemented, planned, or not-applicable with its
// reason); the note is the requirement's remarks and the evidence a link.
// UUIDs are version 5, derived from the workload's and controls' ids, so
// the same data exports the same bytes. ValidateSSP checks a document
// against the official OSCAL 1.1.2 JSON schema go-oscal ships; ReadSSP
// reads the parties and per-control statuses back.
package exchange
