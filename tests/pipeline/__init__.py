"""The deployed pipeline on local AWS: template.yaml's rules, queues and topic on moto's
server, and the inspect function run from the `sam build` output."""
