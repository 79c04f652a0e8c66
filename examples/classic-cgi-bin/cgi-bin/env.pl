#!/usr/bin/env perl
# Shows the CGI/1.1 environment the script received.
use strict;
use warnings;
sub esc { my $s = shift; $s =~ s/&/&amp;/g; $s =~ s/</&lt;/g; $s =~ s/>/&gt;/g; $s =~ s/"/&quot;/g; return $s; }
print "Content-Type: text/html; charset=utf-8\r\n\r\n";
print "<!doctype html><title>Environment</title><h1>CGI environment</h1><table>\n";
for my $k (sort keys %ENV) {
  printf "<tr><th>%s</th><td>%s</td></tr>\n", esc($k), esc($ENV{$k});
}
print "</table>\n";
