// Package report draws the figures of saved results and writes them, with
// the tables, into one self-contained HTML page. It reads compare, run and
// accuracy directories through package rundir (which refuses a directory
// mixing files of different runs) and draws with package plots; figures are
// drawn afresh from the data, so a page always matches its tables.
package report
