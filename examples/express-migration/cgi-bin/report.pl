#!/usr/bin/env perl
# A report script of the kind finance never lets you delete: the year from PATH_INFO,
# the format from the query (?format=html, the default, or ?format=csv).
use strict;
use warnings;
my ($year) = ($ENV{PATH_INFO} // '') =~ m{^/(\d{4})$};
$year //= 2026;
my %query = map { my ($k, $v) = split /=/, $_, 2; ($k // '' => $v // '') } split /[&;]/, $ENV{QUERY_STRING} // '';
my $format = $query{format} // 'html';
my @rows = map { [ sprintf('%d-Q%d', $year, $_), 1000 * $_ + $year % 100 ] } 1 .. 4;
my $me = $ENV{SCRIPT_NAME};

if ($format eq 'csv') {
  print "Content-Type: text/csv; charset=utf-8\r\n";
  print "Content-Disposition: inline; filename=\"sales-$year.csv\"\r\n\r\n";
  print "quarter,units\r\n";
  print "$_->[0],$_->[1]\r\n" for @rows;
  exit 0;
}
if ($format ne 'html') {
  print "Status: 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  print "unknown format; use ?format=html or ?format=csv\n";
  exit 0;
}
print "Content-Type: text/html; charset=utf-8\r\n\r\n";
print qq{<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report $year</title>};
print qq{<link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body>};
print qq{<header><a href="/">Acme intranet</a> <span class="badge legacy">legacy CGI</span></header><main>};
print qq{<h1>Sales $year</h1><table id="report"><tr><th>Quarter</th><th>Units</th></tr>\n};
print qq{<tr><td>$_->[0]</td><td>$_->[1]</td></tr>\n} for @rows;
print qq{</table>\n<p>Other years: };
print join(' ', map { qq{<a href="$me/$_?format=html">$_</a>} } grep { $_ != $year } 2024 .. 2026);
print qq{. <a id="csv" href="$me/$year?format=csv">Download as CSV</a>.</p>\n};
print qq{<p><a id="home" href="/">Back to the home page</a></p></main></body></html>\n};
