#!/usr/bin/env perl
# A report script of the kind finance never lets you delete: year from PATH_INFO.
use strict;
use warnings;
my ($year) = ($ENV{PATH_INFO} // '') =~ m{^/(\d{4})$};
$year //= 2026;
my @rows = map { [ sprintf('%d-Q%d', $year, $_), 1000 * $_ + $year % 100 ] } 1 .. 4;
print "Content-Type: text/html; charset=utf-8\r\n\r\n";
print qq{<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report $year</title>};
print qq{<link rel="stylesheet" href="/style.css"></head><body>};
print qq{<header><a href="/">Acme intranet</a> <span class="badge legacy">legacy CGI</span></header><main>};
print qq{<h1>Sales $year</h1><table id="report"><tr><th>Quarter</th><th>Units</th></tr>\n};
print qq{<tr><td>$_->[0]</td><td>$_->[1]</td></tr>\n} for @rows;
print qq{</table><p><a id="home" href="/">Back</a></p></main></body></html>\n};
