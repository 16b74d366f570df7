BEGIN;

-- What each party does in a responsibility area, in general. srm's own
-- controls say what each party does for them (controls.provider_part and
-- customer_part); a control of an imported framework (NIST SP 800-53, …)
-- has no such texts, so srm describes it by the area it reads the control
-- as, and says that it does. The texts are srm's own words, written to hold
-- whichever party the baseline gives the area under a model: when the area
-- is the customer's alone, only the customer's text is shown, and when it
-- is Azure's alone, only Azure's.
ALTER TABLE public.areas
    ADD COLUMN provider_part text NOT NULL DEFAULT '' CHECK (char_length(provider_part) <= 4000),
    ADD COLUMN customer_part text NOT NULL DEFAULT '' CHECK (char_length(customer_part) <= 4000);

UPDATE public.areas a SET provider_part = v.provider_part, customer_part = v.customer_part
FROM (VALUES
    ('information-and-data',
     'Azure encrypts stored data by default, offers Key Vault for your own keys, and keeps each tenant''s data apart from every other tenant''s.',
     'Classify your data, decide who may read and change it, choose the encryption and the keys, and back up and keep it as long as you must.'),
    ('devices',
     'Azure offers Intune and Defender for Endpoint to enrol, configure and watch the devices people use; where a SaaS service runs in the browser, it protects the session it serves.',
     'Enrol and patch the laptops and phones that reach the workload, protect them against malware, and refuse devices that do not comply.'),
    ('accounts-and-identities',
     'Azure runs Entra ID and offers single sign-on, multi-factor authentication and conditional access for you to use.',
     'Create and remove accounts, grant each person only the access their job needs, require multi-factor authentication and review access regularly.'),
    ('configurations-and-settings',
     'Azure ships services with documented defaults and offers Azure Policy and Defender for Cloud to check your settings against recommendations.',
     'Choose every setting the services expose, keep them at a hardened baseline, and notice and correct drift.'),
    ('identity-and-directory',
     'Azure runs the directory and the control plane: it keeps them available, patched and protected, and enforces the permissions you grant.',
     'Decide who administers the directory and the workload, configure roles, federation and sign-in policies, and watch the directory''s logs.'),
    ('applications',
     'Azure runs, patches and protects the platform the application runs on and, for a SaaS service, the application itself.',
     'Write and configure the application securely, manage its secrets and dependencies, test it, and fix what you find.'),
    ('network-controls',
     'Azure isolates tenants from one another, filters attacks at the edge of its network, and enforces the network rules you define.',
     'Segment your virtual networks, write the firewall and network security group rules, expose only the endpoints that must be public, and watch the traffic.'),
    ('operating-system',
     'Azure patches, hardens and monitors the operating systems under its managed services.',
     'Patch and harden the operating systems you run, protect them against malware, and control who may sign in to them.'),
    ('physical-hosts',
     'Azure controls who may touch its servers, keeps their firmware current, and wipes or destroys drives it retires.',
     'Protect and maintain the servers you run yourself, and dispose of their disks safely.'),
    ('physical-network',
     'Azure protects the cabling, switches and routers in and between its datacenters and keeps them available.',
     'Protect the network equipment and cabling you run yourself.'),
    ('physical-datacenter',
     'Azure secures its datacenter buildings: perimeter, entry control, surveillance, power, cooling and fire protection.',
     'Secure the buildings and server rooms you still run yourself.')
) AS v (slug, provider_part, customer_part)
WHERE a.slug = v.slug;

COMMIT;
