#!/bin/sh
printf 'Content-Type: text/plain; charset=utf-8\n\n'
echo "Hello from a shell script."
echo "PATH_INFO=$PATH_INFO"
echo "QUERY_STRING=$QUERY_STRING"
