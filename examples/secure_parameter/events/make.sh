#!/bin/sh
# The events in this folder, as `cfnkit event` makes them from stack.yaml (fixed request ids,
# so the files do not change from one run to the next). Run from examples/secure_parameter.
set -eu
stack="--template stack.yaml --resource DatabasePasswordParameter"
id=7c1e2a4b-0d5f-4e61-9a8b-3c2d1e0f9a0
cfnkit event create $stack --parameter DatabasePassword=first-password-1 \
    --request-id ${id}1 -o events/create.json
cfnkit event update $stack --parameter DatabasePassword=second-password-2 \
    --old-properties events/create.json --physical-id /myapp/db-password \
    --request-id ${id}2 -o events/update.json
cfnkit event delete $stack --parameter DatabasePassword=second-password-2 \
    --physical-id /myapp/db-password --request-id ${id}3 -o events/delete.json
