module cgibridge.bench/go-cgi

go 1.19
