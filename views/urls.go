package views

// The addresses of srm's pages, built in this one place: the templates
// link to them and web redirects to them.

// WorkloadURL is a workload's page.
func WorkloadURL(id int64) string { return "/workloads/" + itoa(id) }

// ControlURL is the card of control cid on workload wid's page.
func ControlURL(wid, cid int64) string { return WorkloadURL(wid) + "#" + ControlAnchor(cid) }

// StatusURL is where the status of control cid of workload wid is posted;
// its override form is under it.
func StatusURL(wid, cid int64) string { return WorkloadURL(wid) + "/controls/" + itoa(cid) }

// OwnerURL is an owner's work queue.
func OwnerURL(id int64) string { return "/owners/" + itoa(id) }

// UserURL is the admin page of an account.
func UserURL(id int64) string { return "/admin/users/" + itoa(id) }
