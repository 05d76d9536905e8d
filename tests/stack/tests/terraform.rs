//! Offline checks of `terraform/` (no provider downloads, no AWS account):
//!
//! - every `.tf` file parses (hcl-rs), and `terraform fmt -check` is clean
//!   where a `terraform` binary is on `PATH`;
//! - variables: every `var.X` is declared, every declaration is used and has a
//!   description and a type; module calls pass only (and all required) inputs;
//! - outputs have descriptions, and anything derived from a generated secret is
//!   `sensitive` and never lands in a plain environment;
//! - encryption is on wherever the resource has it (S3, SQS, RDS, Secrets
//!   Manager), public access is off, IAM grants name their actions;
//! - the connector's environment in Terraform uses only settings the connector
//!   really reads (its clap `env = "..."` attributes, parsed with syn), sets the
//!   ones cloud mode needs, and passes secret settings as ECS secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl::template::{Directive, Element};
use hcl::{Block, Body, Expression, ObjectKey, Template, TraversalOperator};

// ------------------------------------------------------------------ loading

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn terraform_dir() -> PathBuf {
    repo_root().join("terraform")
}

/// One Terraform module: a folder and its parsed `.tf` files.
#[derive(Debug)]
struct Module {
    dir: PathBuf,
    files: Vec<(PathBuf, Body)>,
}

impl Module {
    fn name(&self) -> String {
        self.dir
            .strip_prefix(repo_root())
            .unwrap_or(&self.dir)
            .display()
            .to_string()
    }

    /// Top-level blocks of one kind (`resource`, `variable`, ...) across files.
    fn blocks<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.files
            .iter()
            .flat_map(|(_, body)| body.blocks())
            .filter(move |block| block.identifier() == kind)
    }

    /// `resource "TYPE" "NAME"` blocks of one type, as (name, body).
    fn resources<'a>(&'a self, kind: &'a str) -> Vec<(&'a str, &'a Body)> {
        self.typed_blocks("resource", kind)
    }

    fn data_sources<'a>(&'a self, kind: &'a str) -> Vec<(&'a str, &'a Body)> {
        self.typed_blocks("data", kind)
    }

    fn typed_blocks<'a>(&'a self, block: &'a str, kind: &'a str) -> Vec<(&'a str, &'a Body)> {
        self.blocks(block)
            .filter(|b| b.labels().first().map(|l| l.as_str()) == Some(kind))
            .map(|b| (b.labels()[1].as_str(), b.body()))
            .collect()
    }

    /// `variable "NAME"` blocks by name.
    fn variables(&self) -> BTreeMap<&str, &Body> {
        self.blocks("variable")
            .map(|b| (b.labels()[0].as_str(), b.body()))
            .collect()
    }

    /// `output "NAME"` blocks by name.
    fn outputs(&self) -> BTreeMap<&str, &Body> {
        self.blocks("output")
            .map(|b| (b.labels()[0].as_str(), b.body()))
            .collect()
    }

    /// Every `local.NAME = ...` across the module's `locals` blocks.
    fn locals(&self) -> BTreeMap<&str, &Expression> {
        let mut locals = BTreeMap::new();
        for block in self.blocks("locals") {
            for attr in block.body().attributes() {
                let previous = locals.insert(attr.key(), attr.expr());
                assert!(
                    previous.is_none(),
                    "{}: local.{} defined twice",
                    self.name(),
                    attr.key()
                );
            }
        }
        locals
    }

    /// Every expression in the module (attributes at any depth).
    fn all_exprs(&self) -> Vec<&Expression> {
        let mut exprs = Vec::new();
        for (_, body) in &self.files {
            body_exprs(body, &mut exprs);
        }
        exprs
    }
}

fn body_exprs<'a>(body: &'a Body, out: &mut Vec<&'a Expression>) {
    for attr in body.attributes() {
        out.push(attr.expr());
    }
    for block in body.blocks() {
        body_exprs(block.body(), out);
    }
}

/// Every folder under `terraform/` with `.tf` files is a module.
fn modules() -> Vec<Module> {
    let mut dirs = BTreeSet::new();
    collect_tf_dirs(&terraform_dir(), &mut dirs);
    assert!(!dirs.is_empty(), "no .tf files under terraform/");
    dirs.into_iter()
        .map(|dir| {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
                .collect();
            paths.sort();
            let files = paths
                .into_iter()
                .map(|path| {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let body = hcl::parse(&text)
                        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                    (path, body)
                })
                .collect();
            Module { dir, files }
        })
        .collect()
}

fn collect_tf_dirs(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') {
                collect_tf_dirs(&path, out);
            }
        } else if name.ends_with(".tf") {
            out.insert(dir.to_path_buf());
        }
    }
}

fn root_module(modules: &[Module]) -> &Module {
    modules
        .iter()
        .find(|m| m.dir == terraform_dir())
        .expect("a root configuration in terraform/")
}

fn gateway_module(modules: &[Module]) -> &Module {
    modules
        .iter()
        .find(|m| m.dir == terraform_dir().join("modules/wa-gateway"))
        .expect("the module terraform/modules/wa-gateway")
}

// ------------------------------------------------------------------ expressions

/// Calls `f` on `expr` and every expression inside it, including the
/// interpolations of string templates.
fn visit(expr: &Expression, f: &mut dyn FnMut(&Expression)) {
    walk(expr, &|_| false, f);
}

/// [`visit`], skipping the expressions `prune` picks and everything inside them.
fn walk(expr: &Expression, prune: &dyn Fn(&Expression) -> bool, f: &mut dyn FnMut(&Expression)) {
    if prune(expr) {
        return;
    }
    f(expr);
    match expr {
        Expression::Array(items) => items.iter().for_each(|e| walk(e, prune, f)),
        Expression::Object(object) => {
            for (key, value) in object {
                if let ObjectKey::Expression(key) = key {
                    walk(key, prune, f);
                }
                walk(value, prune, f);
            }
        }
        Expression::TemplateExpr(template) => {
            let template = Template::from_expr(template)
                .unwrap_or_else(|error| panic!("template {template}: {error}"));
            walk_template(&template, prune, f);
        }
        Expression::Traversal(traversal) => {
            walk(&traversal.expr, prune, f);
            for operator in &traversal.operators {
                if let TraversalOperator::Index(index) = operator {
                    walk(index, prune, f);
                }
            }
        }
        Expression::FuncCall(call) => call.args.iter().for_each(|e| walk(e, prune, f)),
        Expression::Parenthesis(inner) => walk(inner, prune, f),
        Expression::Conditional(cond) => {
            walk(&cond.cond_expr, prune, f);
            walk(&cond.true_expr, prune, f);
            walk(&cond.false_expr, prune, f);
        }
        Expression::Operation(operation) => match operation.as_ref() {
            hcl::Operation::Unary(op) => walk(&op.expr, prune, f),
            hcl::Operation::Binary(op) => {
                walk(&op.lhs_expr, prune, f);
                walk(&op.rhs_expr, prune, f);
            }
        },
        Expression::ForExpr(for_expr) => {
            walk(&for_expr.collection_expr, prune, f);
            if let Some(key) = &for_expr.key_expr {
                walk(key, prune, f);
            }
            walk(&for_expr.value_expr, prune, f);
            if let Some(cond) = &for_expr.cond_expr {
                walk(cond, prune, f);
            }
        }
        _ => {}
    }
}

fn walk_template(
    template: &Template,
    prune: &dyn Fn(&Expression) -> bool,
    f: &mut dyn FnMut(&Expression),
) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(interpolation) => walk(&interpolation.expr, prune, f),
            Element::Directive(directive) => match directive.as_ref() {
                Directive::If(dir) => {
                    walk(&dir.cond_expr, prune, f);
                    walk_template(&dir.true_template, prune, f);
                    if let Some(false_template) = &dir.false_template {
                        walk_template(false_template, prune, f);
                    }
                }
                Directive::For(dir) => {
                    walk(&dir.collection_expr, prune, f);
                    walk_template(&dir.template, prune, f);
                }
            },
        }
    }
}

/// References `ROOT.NAME...` in `expr`, as the path of attribute names, e.g.
/// `var.name` -> ["var", "name"], `aws_s3_bucket.media.arn` -> [.., "media", "arn"].
fn references(expr: &Expression) -> Vec<Vec<String>> {
    references_outside(expr, &|_| false)
}

/// [`references`], leaving out those inside the expressions `prune` picks.
fn references_outside(expr: &Expression, prune: &dyn Fn(&Expression) -> bool) -> Vec<Vec<String>> {
    let mut refs = Vec::new();
    walk(expr, prune, &mut |e| match e {
        Expression::Traversal(traversal) => {
            if let Expression::Variable(root) = &traversal.expr {
                let mut path = vec![root.as_str().to_owned()];
                for operator in &traversal.operators {
                    match operator {
                        TraversalOperator::GetAttr(name) => path.push(name.as_str().to_owned()),
                        TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_) => {
                            path.push("[]".to_owned())
                        }
                        _ => break,
                    }
                }
                refs.push(path);
            }
        }
        Expression::Variable(root) => refs.push(vec![root.as_str().to_owned()]),
        _ => {}
    });
    refs
}

/// `ROOT.X` names referenced in `expr` (e.g. every `var.X`).
fn referenced_names(expr: &Expression, root: &str) -> BTreeSet<String> {
    references(expr)
        .into_iter()
        .filter(|path| path.len() >= 2 && path[0] == root)
        .map(|path| path[1].clone())
        .collect()
}

/// Every string literal in `expr`, template literals included.
fn string_literals(expr: &Expression) -> Vec<String> {
    let mut literals = Vec::new();
    visit(expr, &mut |e| match e {
        Expression::String(s) => literals.push(s.clone()),
        Expression::TemplateExpr(template) => {
            if let Ok(template) = Template::from_expr(template) {
                for element in template.elements() {
                    if let Element::Literal(s) = element {
                        literals.push(s.clone());
                    }
                }
            }
        }
        _ => {}
    });
    literals
}

/// The keys of every object literal inside `expr` (through merge(), conditionals ...).
fn object_keys(expr: &Expression) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    visit(expr, &mut |e| {
        if let Expression::Object(object) = e {
            for key in object.keys() {
                match key {
                    ObjectKey::Identifier(ident) => {
                        keys.insert(ident.as_str().to_owned());
                    }
                    ObjectKey::Expression(Expression::String(s)) => {
                        keys.insert(s.clone());
                    }
                    other => panic!("computed object key {other:?}"),
                }
            }
        }
    });
    keys
}

/// The value of `key` in the object literals of `expr`, looking through
/// merge(), conditionals and parentheses.
fn object_value<'a>(expr: &'a Expression, key: &str) -> Option<&'a Expression> {
    match expr {
        Expression::Object(object) => object.iter().find_map(|(k, v)| match k {
            ObjectKey::Identifier(i) if i.as_str() == key => Some(v),
            ObjectKey::Expression(Expression::String(s)) if s == key => Some(v),
            _ => object_value(v, key),
        }),
        Expression::FuncCall(call) => call.args.iter().find_map(|a| object_value(a, key)),
        Expression::Parenthesis(inner) => object_value(inner, key),
        Expression::Conditional(cond) => {
            object_value(&cond.true_expr, key).or_else(|| object_value(&cond.false_expr, key))
        }
        _ => None,
    }
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|attr| attr.key() == key)
        .map(|attr| attr.expr())
}

fn nested<'a>(body: &'a Body, kind: &'a str) -> impl Iterator<Item = &'a Body> + 'a {
    body.blocks()
        .filter(move |block| block.identifier() == kind)
        .map(|block| block.body())
}

fn is_true(expr: Option<&Expression>) -> bool {
    matches!(expr, Some(Expression::Bool(true)))
}

fn non_empty_string(expr: Option<&Expression>) -> bool {
    match expr {
        Some(Expression::String(s)) => !s.trim().is_empty(),
        Some(Expression::TemplateExpr(_)) => true,
        _ => false,
    }
}

/// Whether `expr` refers to `TYPE.NAME` (a resource) anywhere inside.
fn refers_to(expr: &Expression, kind: &str, name: &str) -> bool {
    references(expr)
        .iter()
        .any(|path| path.len() >= 2 && path[0] == kind && path[1] == name)
}

// ------------------------------------------------------------------ syntax and layout

#[test]
fn every_tf_file_parses_and_the_layout_is_complete() {
    let modules = modules();
    let root = root_module(&modules);
    let gateway = gateway_module(&modules);
    for (module, expected) in [
        (
            root,
            &["main.tf", "variables.tf", "outputs.tf", "versions.tf"][..],
        ),
        (
            gateway,
            &[
                "main.tf",
                "variables.tf",
                "outputs.tf",
                "versions.tf",
                "s3.tf",
                "database.tf",
                "queue.tf",
                "lambda.tf",
                "secrets.tf",
                "connector.tf",
                "iam.tf",
            ][..],
        ),
    ] {
        for file in expected {
            assert!(
                module.files.iter().any(|(path, _)| path.ends_with(file)),
                "{}: {file} is missing",
                module.name()
            );
        }
    }
    let parsed: usize = modules.iter().map(|m| m.files.len()).sum();
    eprintln!("parsed {parsed} .tf files in {} modules", modules.len());
}

#[test]
fn providers_are_pinned() {
    for module in modules() {
        let terraform: Vec<&Block> = module.blocks("terraform").collect();
        assert_eq!(
            terraform.len(),
            1,
            "{}: one terraform block expected",
            module.name()
        );
        let body = terraform[0].body();
        assert!(
            attr(body, "required_version").is_some(),
            "{}: required_version",
            module.name()
        );
        let providers = nested(body, "required_providers")
            .next()
            .unwrap_or_else(|| panic!("{}: required_providers", module.name()));
        let expected = [
            ("aws", "hashicorp/aws", "~> 5."),
            ("random", "hashicorp/random", "~> 3."),
        ];
        for (name, source, constraint) in expected {
            let Some(Expression::Object(provider)) = attr(providers, name) else {
                panic!("{}: provider {name} is not pinned", module.name());
            };
            let get = |key: &str| {
                provider
                    .iter()
                    .find(|(k, _)| matches!(k, ObjectKey::Identifier(i) if i.as_str() == key))
                    .and_then(|(_, v)| match v {
                        Expression::String(s) => Some(s.as_str()),
                        _ => None,
                    })
            };
            assert_eq!(get("source"), Some(source), "{}: {name}", module.name());
            let version = get("version").unwrap_or_default();
            assert!(
                version.starts_with(constraint),
                "{}: {name} version {version:?} should be {constraint}x",
                module.name()
            );
        }
    }
}

#[test]
fn terraform_fmt_is_clean() {
    let dir = terraform_dir();
    let output = match Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "-diff"])
        .arg(&dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "SKIPPED terraform fmt -check: no `terraform` on PATH (it cannot be installed \
                 from the registries this machine reaches); the offline parse still ran"
            );
            return;
        }
        Err(error) => panic!("running terraform: {error}"),
    };
    assert!(
        output.status.success(),
        "terraform fmt -check -recursive terraform/ found unformatted files \
         (run `terraform fmt -recursive terraform/`):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ------------------------------------------------------------------ variables and outputs

#[test]
fn variables_are_declared_documented_typed_and_used() {
    for module in modules() {
        let declared = module.variables();
        let mut used = BTreeSet::new();
        for expr in module.all_exprs() {
            used.extend(referenced_names(expr, "var"));
        }
        let undeclared: Vec<_> = used
            .iter()
            .filter(|name| !declared.contains_key(name.as_str()))
            .collect();
        assert!(
            undeclared.is_empty(),
            "{}: var.{undeclared:?} used but not declared",
            module.name()
        );
        for (name, body) in &declared {
            assert!(
                non_empty_string(attr(body, "description")),
                "{}: variable {name} has no description",
                module.name()
            );
            assert!(
                attr(body, "type").is_some(),
                "{}: variable {name} has no type",
                module.name()
            );
            assert!(
                used.contains(*name),
                "{}: variable {name} is declared but never used",
                module.name()
            );
            for validation in nested(body, "validation") {
                let condition = attr(validation, "condition").expect("validation condition");
                assert!(
                    referenced_names(condition, "var").contains(*name),
                    "{}: a validation of {name} does not look at var.{name}",
                    module.name()
                );
                assert!(non_empty_string(attr(validation, "error_message")));
            }
        }
    }
}

#[test]
fn module_calls_pass_declared_inputs_and_every_required_one() {
    let modules = modules();
    let by_dir: BTreeMap<&Path, &Module> = modules.iter().map(|m| (m.dir.as_path(), m)).collect();
    let mut calls = 0;
    for module in &modules {
        for call in module.blocks("module") {
            calls += 1;
            let name = call.labels()[0].as_str();
            let Some(Expression::String(source)) = attr(call.body(), "source") else {
                panic!("{}: module {name} needs a literal source", module.name());
            };
            let dir = module.dir.join(source).canonicalize().unwrap();
            let callee = by_dir
                .get(dir.as_path())
                .unwrap_or_else(|| panic!("module {name}: no .tf files at {source}"));
            let inputs = callee.variables();
            let meta = [
                "source",
                "version",
                "count",
                "for_each",
                "providers",
                "depends_on",
            ];
            let passed: BTreeSet<&str> = call
                .body()
                .attributes()
                .map(|a| a.key())
                .filter(|k| !meta.contains(k))
                .collect();
            for key in &passed {
                assert!(
                    inputs.contains_key(key),
                    "module {name} has no variable {key}"
                );
            }
            for (input, body) in &inputs {
                if attr(body, "default").is_none() {
                    assert!(
                        passed.contains(input),
                        "module {name}: required input {input} is not passed"
                    );
                }
            }
            // module.NAME.X: X is an output of the module.
            let outputs = callee.outputs();
            for expr in module.all_exprs() {
                for path in references(expr) {
                    if path.len() >= 3 && path[0] == "module" && path[1] == name {
                        assert!(
                            outputs.contains_key(path[2].as_str()),
                            "module.{name}.{} is not an output of {source}",
                            path[2]
                        );
                    }
                }
            }
        }
    }
    assert!(calls >= 1, "the root configuration calls the module");
}

/// `local.X` names whose values derive from a generated secret (random_password)
/// or a sensitive variable, transitively.
fn secret_locals(module: &Module) -> BTreeSet<String> {
    let locals = module.locals();
    let sensitive_vars: BTreeSet<&str> = module
        .variables()
        .into_iter()
        .filter(|(_, body)| is_true(attr(body, "sensitive")))
        .map(|(name, _)| name)
        .collect();
    let mut secret = BTreeSet::new();
    loop {
        let before = secret.len();
        for (name, expr) in &locals {
            if is_secret_expr(expr, &secret, &sensitive_vars) {
                secret.insert((*name).to_owned());
            }
        }
        if secret.len() == before {
            return secret;
        }
    }
}

fn is_secret_expr(
    expr: &Expression,
    secret_locals: &BTreeSet<String>,
    sensitive_vars: &BTreeSet<&str>,
) -> bool {
    references_outside(expr, &is_declassified_comparison)
        .iter()
        .any(|path| match path[0].as_str() {
            "random_password" => true,
            "local" => path.len() > 1 && secret_locals.contains(&path[1]),
            "var" => path.len() > 1 && sensitive_vars.contains(path[1].as_str()),
            _ => false,
        })
}

/// `nonsensitive(<comparison>)`: Terraform's explicit declassification of a
/// yes/no about a secret (whether API keys were given), which `count` needs.
/// Only a comparison passes: `nonsensitive(var.api_keys)` still carries the
/// keys.
fn is_declassified_comparison(expr: &Expression) -> bool {
    use hcl::expr::BinaryOperator::{Eq, Greater, GreaterEq, Less, LessEq, NotEq};
    let Expression::FuncCall(call) = expr else {
        return false;
    };
    if !call.name.namespace.is_empty()
        || call.name.name.as_str() != "nonsensitive"
        || call.args.len() != 1
    {
        return false;
    }
    let mut argument = &call.args[0];
    while let Expression::Parenthesis(inner) = argument {
        argument = inner;
    }
    matches!(argument, Expression::Operation(operation)
        if matches!(operation.as_ref(), hcl::Operation::Binary(binary)
            if matches!(binary.operator, Eq | NotEq | Less | LessEq | Greater | GreaterEq)))
}

#[test]
fn outputs_are_documented_and_secrets_are_sensitive() {
    let modules = modules();
    // Which module outputs are sensitive, for the outputs that pass them on.
    let mut sensitive_module_outputs: BTreeMap<(PathBuf, String), bool> = BTreeMap::new();
    for module in &modules {
        for (name, body) in module.outputs() {
            sensitive_module_outputs.insert(
                (module.dir.clone(), name.to_owned()),
                is_true(attr(body, "sensitive")),
            );
        }
    }
    let mut secret_outputs = 0;
    for module in &modules {
        let secret = secret_locals(module);
        let sensitive_vars = BTreeSet::new();
        let calls: BTreeMap<String, PathBuf> = module
            .blocks("module")
            .map(|call| {
                let Some(Expression::String(source)) = attr(call.body(), "source") else {
                    unreachable!()
                };
                (
                    call.labels()[0].as_str().to_owned(),
                    module.dir.join(source).canonicalize().unwrap(),
                )
            })
            .collect();
        for (name, body) in module.outputs() {
            assert!(
                non_empty_string(attr(body, "description")),
                "{}: output {name} has no description",
                module.name()
            );
            let value = attr(body, "value").expect("output value");
            let from_sensitive_module_output = references(value).iter().any(|path| {
                path.len() >= 3
                    && path[0] == "module"
                    && calls.get(&path[1]).is_some_and(|dir| {
                        sensitive_module_outputs
                            .get(&(dir.clone(), path[2].clone()))
                            .copied()
                            .unwrap_or(false)
                    })
            });
            let carries_secret =
                is_secret_expr(value, &secret, &sensitive_vars) || from_sensitive_module_output;
            let secret_sounding = ["password", "secret", "auth", "token", "key"]
                .iter()
                .any(|word| name.contains(word))
                && !name.ends_with("_arn");
            if carries_secret || secret_sounding {
                secret_outputs += 1;
                assert!(
                    is_true(attr(body, "sensitive")),
                    "{}: output {name} carries a secret and must be sensitive = true",
                    module.name()
                );
            }
        }
    }
    assert!(
        secret_outputs >= 2,
        "expected the basic-auth output in the module and the root"
    );
}

#[test]
fn generated_secrets_stay_out_of_plain_configuration() {
    let modules = modules();
    let module = gateway_module(&modules);
    let secret = secret_locals(module);
    assert!(
        secret.contains("database_uri") && secret.contains("basic_auth"),
        "the taint analysis should find the secret locals, found {secret:?}"
    );
    let none = BTreeSet::new();
    // Plain environments: the connector's and the functions'.
    for local in [
        "connector_environment",
        "fanout_environment",
        "transcode_environment",
    ] {
        let expr = module.locals()[local];
        assert!(
            !is_secret_expr(expr, &secret, &none),
            "local.{local} is a plain environment but carries a secret"
        );
    }
    for (name, body) in module.resources("aws_lambda_function") {
        for environment in nested(body, "environment") {
            let variables = attr(environment, "variables").unwrap();
            assert!(
                !is_secret_expr(variables, &secret, &none),
                "aws_lambda_function.{name}: environment carries a secret"
            );
        }
    }
    // Generated secret values are stored only as Secrets Manager versions or
    // used as the database's password.
    let allowed = ["aws_secretsmanager_secret_version", "aws_db_instance"];
    for block in module.blocks("resource") {
        let kind = block.labels()[0].as_str();
        let mut exprs = Vec::new();
        body_exprs(block.body(), &mut exprs);
        let carries = exprs.iter().any(|e| is_secret_expr(e, &secret, &none));
        assert!(
            !carries || allowed.contains(&kind),
            "resource {kind}.{} holds a generated secret",
            block.labels()[1].as_str()
        );
    }
}

// ------------------------------------------------------------------ encryption and access

#[test]
fn storage_and_queues_are_encrypted_and_private() {
    let modules = modules();
    let module = gateway_module(&modules);

    let buckets = module.resources("aws_s3_bucket");
    assert!(!buckets.is_empty(), "the media bucket");
    for (bucket, _) in &buckets {
        let encryption = module
            .resources("aws_s3_bucket_server_side_encryption_configuration")
            .into_iter()
            .find(|(_, body)| refers_to(attr(body, "bucket").unwrap(), "aws_s3_bucket", bucket))
            .unwrap_or_else(|| panic!("aws_s3_bucket.{bucket} has no SSE configuration"));
        let algorithms: Vec<String> = nested(encryption.1, "rule")
            .flat_map(|rule| nested(rule, "apply_server_side_encryption_by_default"))
            .filter_map(|default| match attr(default, "sse_algorithm") {
                Some(Expression::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect();
        assert!(
            !algorithms.is_empty()
                && algorithms
                    .iter()
                    .all(|a| ["AES256", "aws:kms", "aws:kms:dsse"].contains(&a.as_str())),
            "aws_s3_bucket.{bucket}: SSE algorithm {algorithms:?}"
        );

        let block = module
            .resources("aws_s3_bucket_public_access_block")
            .into_iter()
            .find(|(_, body)| refers_to(attr(body, "bucket").unwrap(), "aws_s3_bucket", bucket))
            .unwrap_or_else(|| panic!("aws_s3_bucket.{bucket} has no public access block"));
        for setting in [
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ] {
            assert!(is_true(attr(block.1, setting)), "{bucket}: {setting}");
        }

        let lifecycle = module
            .resources("aws_s3_bucket_lifecycle_configuration")
            .into_iter()
            .find(|(_, body)| refers_to(attr(body, "bucket").unwrap(), "aws_s3_bucket", bucket))
            .unwrap_or_else(|| panic!("aws_s3_bucket.{bucket} has no lifecycle rules"));
        let expires_by_variable = nested(lifecycle.1, "rule")
            .flat_map(|rule| nested(rule, "expiration"))
            .any(|expiration| {
                attr(expiration, "days").is_some_and(|days| {
                    referenced_names(days, "var").contains("media_expiration_days")
                })
            });
        assert!(
            expires_by_variable,
            "{bucket}: media expire after var.media_expiration_days"
        );
    }

    let queues = module.resources("aws_sqs_queue");
    assert!(
        queues.len() >= 2,
        "the event queue and its dead-letter queue"
    );
    for (name, body) in &queues {
        assert!(
            is_true(attr(body, "sqs_managed_sse_enabled"))
                || attr(body, "kms_master_key_id").is_some(),
            "aws_sqs_queue.{name} is not encrypted"
        );
    }

    let databases: Vec<_> = module
        .resources("aws_db_instance")
        .into_iter()
        .chain(module.resources("aws_rds_cluster"))
        .collect();
    assert!(!databases.is_empty(), "a PostgreSQL database");
    for (name, body) in &databases {
        assert!(
            is_true(attr(body, "storage_encrypted")),
            "{name}: storage_encrypted"
        );
        assert!(
            matches!(
                attr(body, "publicly_accessible"),
                None | Some(Expression::Bool(false))
            ),
            "{name}: must not be publicly accessible"
        );
        assert!(
            matches!(attr(body, "engine"), Some(Expression::String(e)) if e.contains("postgres")),
            "{name}: PostgreSQL engine"
        );
    }

    // Secrets Manager always encrypts; a key, if named, must not be empty.
    let secrets = module.resources("aws_secretsmanager_secret");
    assert!(secrets.len() >= 3, "webhook, API and database secrets");
    for (name, body) in &secrets {
        if let Some(key) = attr(body, "kms_key_id") {
            assert!(
                non_empty_string(Some(key)) || matches!(key, Expression::Traversal(_)),
                "{name}: kms_key_id"
            );
        }
    }
}

#[test]
fn the_database_parameter_group_carries_the_tuning_knobs() {
    let modules = modules();
    let module = gateway_module(&modules);
    let groups = module.resources("aws_db_parameter_group");
    assert_eq!(groups.len(), 1);
    let parameters = object_keys(module.locals()["db_parameters"]);
    for knob in [
        "max_connections",
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "wal_buffers",
        "min_wal_size",
        "max_wal_size",
        "checkpoint_timeout",
        "wal_compression",
        "synchronous_commit",
    ] {
        assert!(
            parameters.contains(knob),
            "parameter {knob} missing: {parameters:?}"
        );
    }
    let (_, database) = module.resources("aws_db_instance")[0];
    assert!(refers_to(
        attr(database, "parameter_group_name").unwrap(),
        "aws_db_parameter_group",
        groups[0].0
    ));
}

/// Allow statements of every IAM policy document, as (where, actions, resources).
fn allow_statements(module: &Module) -> Vec<(String, Vec<String>, Vec<String>)> {
    let strings = |expr: Option<&Expression>| -> Vec<String> {
        match expr {
            Some(Expression::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Expression::String(s) => s.clone(),
                    other => format!("{other}"),
                })
                .collect(),
            Some(other) => vec![format!("{other}")],
            None => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for (doc, body) in module.data_sources("aws_iam_policy_document") {
        let direct = nested(body, "statement");
        let dynamic = body
            .blocks()
            .filter(|b| b.identifier() == "dynamic" && b.labels()[0].as_str() == "statement")
            .flat_map(|b| nested(b.body(), "content"));
        for statement in direct.chain(dynamic) {
            assert!(
                attr(statement, "not_actions").is_none()
                    && attr(statement, "not_resources").is_none(),
                "{doc}: NotAction/NotResource grant more than they name"
            );
            let effect = match attr(statement, "effect") {
                None => "Allow".to_owned(),
                Some(Expression::String(s)) => s.clone(),
                Some(other) => panic!("{doc}: computed effect {other}"),
            };
            if effect == "Allow" {
                out.push((
                    format!("data.aws_iam_policy_document.{doc}"),
                    strings(attr(statement, "actions")),
                    strings(attr(statement, "resources")),
                ));
            }
        }
    }
    // Inline JSON policies (jsonencode) anywhere: their Allow statements too.
    for expr in module.all_exprs() {
        visit(expr, &mut |e| {
            if let Expression::Object(object) = e {
                let get = |key: &str| {
                    object.iter().find_map(|(k, v)| match k {
                        ObjectKey::Identifier(i) if i.as_str() == key => Some(v),
                        ObjectKey::Expression(Expression::String(s)) if s == key => Some(v),
                        _ => None,
                    })
                };
                if let (Some(Expression::String(effect)), Some(action)) =
                    (get("Effect"), get("Action"))
                    && effect == "Allow"
                {
                    out.push((
                        "inline policy".to_owned(),
                        strings(Some(action)),
                        strings(get("Resource")),
                    ));
                }
            }
        });
    }
    out
}

#[test]
fn iam_grants_name_their_actions_and_resources() {
    // Actions AWS defines without a resource type: "*" is their only resource.
    let resource_less = ["ecr:GetAuthorizationToken"];
    let modules = modules();
    let module = gateway_module(&modules);
    let statements = allow_statements(module);
    assert!(
        statements.len() >= 8,
        "policies for the functions and the connector: {statements:?}"
    );
    for (place, actions, resources) in &statements {
        assert!(
            !actions.is_empty(),
            "{place}: an Allow statement without actions"
        );
        for action in actions {
            assert!(
                !action.contains('*'),
                "{place}: wildcard action {action:?}; name the actions the workload uses"
            );
        }
        if resources.iter().any(|r| r == "*") {
            assert!(
                actions.iter().all(|a| resource_less.contains(&a.as_str())),
                "{place}: resource \"*\" for {actions:?}"
            );
        }
    }
    // Each workload has its own role.
    let roles: BTreeSet<&str> = module
        .resources("aws_iam_role")
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for role in [
        "fanout",
        "transcode",
        "connector_execution",
        "connector_task",
    ] {
        assert!(roles.contains(role), "aws_iam_role.{role}");
    }
}

// ------------------------------------------------------------------ functions, queue, connector host

#[test]
fn lambdas_queue_and_triggers_have_the_documented_shape() {
    let modules = modules();
    let module = gateway_module(&modules);
    let functions = module.resources("aws_lambda_function");
    assert_eq!(functions.len(), 2, "webhook fan-out and media transcoding");
    for (name, body) in &functions {
        assert!(
            matches!(attr(body, "runtime"), Some(Expression::String(r)) if r == "provided.al2023"),
            "{name}: provided.al2023"
        );
        assert!(
            matches!(attr(body, "handler"), Some(Expression::String(h)) if h == "bootstrap"),
            "{name}: handler bootstrap"
        );
    }
    let (_, transcode) = functions.iter().find(|(n, _)| *n == "transcode").unwrap();
    assert!(
        refers_to(
            attr(transcode, "layers").unwrap(),
            "aws_lambda_layer_version",
            "ffmpeg"
        ),
        "the transcoding function runs with the ffmpeg layer"
    );

    let mappings = module.resources("aws_lambda_event_source_mapping");
    assert_eq!(mappings.len(), 1);
    let (_, mapping) = mappings[0];
    assert!(refers_to(
        attr(mapping, "event_source_arn").unwrap(),
        "aws_sqs_queue",
        "events"
    ));
    assert!(refers_to(
        attr(mapping, "function_name").unwrap(),
        "aws_lambda_function",
        "fanout"
    ));
    assert!(
        string_literals(attr(mapping, "function_response_types").unwrap())
            .contains(&"ReportBatchItemFailures".to_owned()),
        "partial batch failures are reported"
    );

    let queues = module.resources("aws_sqs_queue");
    let (_, events) = queues.iter().find(|(n, _)| *n == "events").unwrap();
    let redrive = attr(events, "redrive_policy").expect("the event queue dead-letters");
    assert!(refers_to(redrive, "aws_sqs_queue", "events_dlq"));

    let notifications = module.resources("aws_s3_bucket_notification");
    assert_eq!(notifications.len(), 1);
    let lambda = nested(notifications[0].1, "lambda_function")
        .next()
        .unwrap();
    assert!(refers_to(
        attr(lambda, "lambda_function_arn").unwrap(),
        "aws_lambda_function",
        "transcode"
    ));
    let prefix = attr(lambda, "filter_prefix").unwrap();
    let prefix_local = referenced_names(prefix, "local")
        .into_iter()
        .next()
        .unwrap();
    assert!(
        string_literals(module.locals()[prefix_local.as_str()])
            .iter()
            .any(|s| s.ends_with("incoming/")),
        "uploads under incoming/ trigger transcoding"
    );
}

#[test]
fn exactly_one_connector_task_never_two() {
    let modules = modules();
    let module = gateway_module(&modules);
    let services = module.resources("aws_ecs_service");
    assert_eq!(services.len(), 1);
    let (_, service) = services[0];
    let number = |key: &str| match attr(service, key) {
        Some(Expression::Number(n)) => n.as_u64(),
        _ => None,
    };
    assert_eq!(number("desired_count"), Some(1), "one connector");
    assert_eq!(
        number("deployment_maximum_percent"),
        Some(100),
        "a deployment must not run a second connector beside the first"
    );
    assert_eq!(number("deployment_minimum_healthy_percent"), Some(0));
    // The database is in the private subnets only.
    let groups = module.resources("aws_db_subnet_group");
    assert!(refers_to(
        attr(groups[0].1, "subnet_ids").unwrap(),
        "aws_subnet",
        "private"
    ));
}

// ------------------------------------------------------------------ connector settings

/// A connector setting: its environment variable, and whether clap hides its
/// value (`hide_env_values = true`: a secret).
#[derive(Debug)]
struct Setting {
    secret: bool,
}

/// The connector's settings, from the `env = "..."` of every `#[arg(...)]`
/// under `connector/wa-connector/src` (config.rs holds them today).
fn connector_settings() -> BTreeMap<String, Setting> {
    let src = repo_root().join("connector/wa-connector/src");
    assert!(
        src.join("config.rs").is_file(),
        "connector/wa-connector/src/config.rs"
    );
    let mut files = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut settings = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut structs = Vec::new();
        collect_structs(&file.items, &mut structs);
        for item in structs {
            for field in &item.fields {
                for attribute in field.attrs.iter().filter(|a| a.path().is_ident("arg")) {
                    let mut env = None;
                    let mut secret = false;
                    attribute
                        .parse_nested_meta(|meta| {
                            if meta.input.peek(syn::Token![=]) {
                                let value: syn::Expr = meta.value()?.parse()?;
                                if meta.path.is_ident("env") {
                                    match value {
                                        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => {
                                            env = Some(s.value())
                                        }
                                        _ => panic!(
                                            "{}: env = must be a string literal",
                                            path.display()
                                        ),
                                    }
                                } else if meta.path.is_ident("hide_env_values") {
                                    secret = matches!(
                                        value,
                                        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(ref b), .. }) if b.value
                                    );
                                }
                            } else if meta.input.peek(syn::token::Paren) {
                                // e.g. `name(...)`: skip the group.
                                let content;
                                syn::parenthesized!(content in meta.input);
                                content.step(|cursor| {
                                    let mut rest = *cursor;
                                    while let Some((_, next)) = rest.token_tree() {
                                        rest = next;
                                    }
                                    Ok(((), rest))
                                })?;
                            } else if meta.path.is_ident("hide_env_values") {
                                secret = true;
                            }
                            Ok(())
                        })
                        .unwrap_or_else(|e| panic!("{}: #[arg(...)]: {e}", path.display()));
                    if let Some(env) = env {
                        let previous = settings.insert(env.clone(), Setting { secret });
                        assert!(previous.is_none(), "{env} is declared twice");
                    }
                }
            }
        }
    }
    settings
}

fn collect_structs<'a>(items: &'a [syn::Item], out: &mut Vec<&'a syn::ItemStruct>) {
    for item in items {
        match item {
            syn::Item::Struct(item) => out.push(item),
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect_structs(items, out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_connector_settings_parser_finds_the_known_ones() {
    let settings = connector_settings();
    for (name, secret) in [
        ("APP_PORT", false),
        ("DB_URI", true),
        ("MEDIA_URI", false),
        ("WHATSAPP_WEBHOOK_SECRET", true),
        ("APP_BASIC_AUTH", true),
        ("APP_API_KEYS", true),
        ("INTERNAL_API_TOKEN", true),
        ("WEBHOOK_QUEUE_URL", false),
    ] {
        let setting = settings.get(name).unwrap_or_else(|| {
            panic!("{name} not found in the connector's settings: {settings:?}")
        });
        assert_eq!(setting.secret, secret, "{name}: hide_env_values");
    }
}

#[test]
fn terraform_sets_only_real_connector_settings_and_all_that_cloud_mode_needs() {
    let settings = connector_settings();
    let modules = modules();
    let module = gateway_module(&modules);
    let locals = module.locals();
    let environment = object_keys(locals["connector_environment"]);
    let secrets = object_keys(locals["connector_secrets"]);

    // The container is built from exactly these two maps.
    let (_, task) = module.resources("aws_ecs_task_definition")[0];
    let containers = attr(task, "container_definitions").unwrap();
    let used = referenced_names(containers, "local");
    assert!(
        used.contains("connector_environment") && used.contains("connector_secrets"),
        "container_definitions must take its environment from local.connector_environment \
         and local.connector_secrets, uses {used:?}"
    );
    assert!(
        object_keys(containers).is_disjoint(&BTreeSet::from(["DB_URI".to_owned()])),
        "no setting is spelled out in container_definitions itself"
    );

    for name in environment.iter().chain(&secrets) {
        assert!(
            settings.contains_key(name),
            "Terraform sets {name} on the connector, but `wa-connector serve` has no such \
             setting (known: {:?})",
            settings.keys().collect::<Vec<_>>()
        );
    }
    assert!(
        environment.is_disjoint(&secrets),
        "a setting is both plain and secret"
    );
    for (name, setting) in &settings {
        if setting.secret {
            assert!(
                !environment.contains(name),
                "{name} is a secret setting: pass it through connector_secrets (Secrets Manager)"
            );
        }
    }

    // Cloud mode: Postgres and S3, listening beyond loopback; attempts on the
    // queue, outcomes back through the internal endpoint.
    for required in [
        "DB_URI",
        "MEDIA_URI",
        "APP_HOST",
        "APP_PORT",
        "WHATSAPP_WEBHOOK_SECRET",
        "INTERNAL_API_TOKEN",
        "WEBHOOK_QUEUE_URL",
    ] {
        assert!(
            environment.contains(required) || secrets.contains(required),
            "cloud mode needs {required}"
        );
    }
    // Named explicitly: hide_env_values would catch them only as long as the
    // connector keeps marking them.
    for secret in ["INTERNAL_API_TOKEN", "APP_API_KEYS"] {
        assert!(
            secrets.contains(secret) && !environment.contains(secret),
            "{secret} must be an ECS secret, never plain environment"
        );
    }
    assert!(
        environment.contains("WEBHOOK_QUEUE_URL"),
        "the queue URL is plain"
    );
    let env_object = |key: &str| object_value(locals["connector_environment"], key);
    let media = env_object("MEDIA_URI").unwrap();
    assert!(
        string_literals(media)
            .first()
            .is_some_and(|s| s.starts_with("s3://")),
        "MEDIA_URI must be s3://bucket/prefix, is {media}"
    );
    assert!(refers_to(media, "aws_s3_bucket", "media"));
    assert!(
        matches!(env_object("APP_HOST"), Some(Expression::String(h)) if h == "0.0.0.0"),
        "the connector listens on every interface inside its task"
    );
    assert!(referenced_names(env_object("APP_PORT").unwrap(), "var").contains("app_port"));

    // DB_URI comes from the database secret, whose `uri` is a postgres:// URI
    // built from the instance's endpoint.
    let db_uri_source = format!(
        "{}",
        object_value(locals["connector_secrets"], "DB_URI").unwrap()
    );
    assert!(
        db_uri_source.contains("aws_secretsmanager_secret.database.arn")
            && db_uri_source.contains(":uri::"),
        "DB_URI = the `uri` key of the database secret, is {db_uri_source}"
    );
    let uri = locals["database_uri"];
    assert!(
        string_literals(uri)
            .iter()
            .any(|s| s.starts_with("postgres://") || s.starts_with("postgresql://")),
        "local.database_uri is a postgres:// URI"
    );
    assert!(refers_to(uri, "aws_db_instance", "this"));
    let (_, version) = module
        .resources("aws_secretsmanager_secret_version")
        .into_iter()
        .find(|(_, body)| {
            refers_to(
                attr(body, "secret_id").unwrap(),
                "aws_secretsmanager_secret",
                "database",
            )
        })
        .unwrap();
    let stored = attr(version, "secret_string").unwrap();
    assert!(object_keys(stored).contains("uri"));
    assert!(referenced_names(stored, "local").contains("database_uri"));
}

// ------------------------------------------------------------------ cloud fan-out

/// The string literals of every `const` in a Rust file, by name (e.g. the
/// fan-out's `VARIABLES` and `REPORT_PATH`).
fn rust_string_consts(relative: &str) -> BTreeMap<String, Vec<String>> {
    fn strings(expr: &syn::Expr, out: &mut Vec<String>) {
        match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => out.push(s.value()),
            syn::Expr::Reference(reference) => strings(&reference.expr, out),
            syn::Expr::Array(array) => array.elems.iter().for_each(|e| strings(e, out)),
            _ => {}
        }
    }
    let path = repo_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{relative}: {e}"));
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Const(item) => {
                let mut values = Vec::new();
                strings(&item.expr, &mut values);
                Some((item.ident.to_string(), values))
            }
            _ => None,
        })
        .collect()
}

/// The `aws_secretsmanager_secret` names `expr` refers to.
fn secrets_named(expr: &Expression) -> BTreeSet<String> {
    references(expr)
        .into_iter()
        .filter(|path| path.len() >= 2 && path[0] == "aws_secretsmanager_secret")
        .map(|path| path[1].clone())
        .collect()
}

/// `expr` as a string: a literal, or a `local.X` holding one.
fn literal_through_locals(module: &Module, expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        other => {
            let names = referenced_names(other, "local");
            let name = names.iter().next()?;
            match module.locals().get(name.as_str()) {
                Some(Expression::String(s)) => Some(s.clone()),
                _ => None,
            }
        }
    }
}

#[test]
fn the_cloud_fanout_is_wired_end_to_end() {
    let modules = modules();
    let module = gateway_module(&modules);
    let locals = module.locals();

    // The fan-out function gets only what webhook-fanout-lambda reads, its
    // secrets by ARN (read through the extension), never in clear.
    let consts = rust_string_consts("functions/webhook-fanout-lambda/src/config.rs");
    let reads: BTreeSet<&str> = consts["VARIABLES"].iter().map(String::as_str).collect();
    let fanout = locals["fanout_environment"];
    let environment = object_keys(fanout);
    for name in &environment {
        assert!(
            reads.contains(name.as_str()),
            "Terraform sets {name} on the fan-out, which does not read it (reads {reads:?})"
        );
    }
    for required in [
        "WHATSAPP_WEBHOOK_SECRET_ARN",
        "CONNECTOR_URL",
        "CONNECTOR_TOKEN_ARN",
    ] {
        assert!(
            environment.contains(required),
            "the fan-out needs {required}"
        );
    }
    for plain in ["WHATSAPP_WEBHOOK_SECRET", "CONNECTOR_TOKEN"] {
        assert!(
            !environment.contains(plain),
            "{plain} would put a secret in the function's configuration; use {plain}_ARN"
        );
    }
    let (_, function) = module
        .resources("aws_lambda_function")
        .into_iter()
        .find(|(name, _)| *name == "fanout")
        .expect("aws_lambda_function.fanout");
    let variables = nested(function, "environment")
        .find_map(|e| attr(e, "variables"))
        .unwrap();
    assert!(referenced_names(variables, "local").contains("fanout_environment"));

    // One token: the fan-out's CONNECTOR_TOKEN_ARN is the connector's
    // INTERNAL_API_TOKEN, a generated secret.
    let token_secret = secrets_named(object_value(fanout, "CONNECTOR_TOKEN_ARN").unwrap());
    let connector_token =
        secrets_named(object_value(locals["connector_secrets"], "INTERNAL_API_TOKEN").unwrap());
    assert_eq!(
        token_secret.len(),
        1,
        "CONNECTOR_TOKEN_ARN names one secret"
    );
    assert_eq!(
        token_secret, connector_token,
        "the fan-out reports with the connector's INTERNAL_API_TOKEN"
    );
    let token_secret = token_secret.into_iter().next().unwrap();
    let (_, version) = module
        .resources("aws_secretsmanager_secret_version")
        .into_iter()
        .find(|(_, body)| {
            refers_to(
                attr(body, "secret_id").unwrap(),
                "aws_secretsmanager_secret",
                &token_secret,
            )
        })
        .unwrap_or_else(|| panic!("no version of aws_secretsmanager_secret.{token_secret}"));
    assert!(
        references(attr(version, "secret_string").unwrap())
            .iter()
            .any(|path| path[0] == "random_password"),
        "the internal token is generated"
    );

    // The connector queues attempts on the event queue, which the fan-out
    // drains, and only when the fan-out exists.
    let queue_url = object_value(locals["connector_environment"], "WEBHOOK_QUEUE_URL").unwrap();
    assert!(refers_to(queue_url, "aws_sqs_queue", "events"));
    let mut conditioned = false;
    visit(locals["connector_environment"], &mut |e| {
        if let Expression::Conditional(cond) = e
            && referenced_names(&cond.cond_expr, "local").contains("fanout_enabled")
            && (object_value(&cond.true_expr, "WEBHOOK_QUEUE_URL").is_some()
                || object_value(&cond.false_expr, "WEBHOOK_QUEUE_URL").is_some())
        {
            conditioned = true;
        }
    });
    assert!(
        conditioned,
        "WEBHOOK_QUEUE_URL only with the fan-out function: nothing else drains the queue"
    );
    let (_, mapping) = module.resources("aws_lambda_event_source_mapping")[0];
    assert!(refers_to(
        attr(mapping, "event_source_arn").unwrap(),
        "aws_sqs_queue",
        "events"
    ));

    // CONNECTOR_URL is the public endpoint; of the internal paths only the
    // report call goes through it, everything else is closed (IAM, granted
    // to nobody).
    let url = object_value(fanout, "CONNECTOR_URL").unwrap();
    assert!(
        references(url)
            .iter()
            .any(|path| path[0] == "aws_apigatewayv2_stage" && path.last().unwrap() == "invoke_url"),
        "CONNECTOR_URL = the API stage's invoke_url, is {url}"
    );
    let report_path =
        &rust_string_consts("functions/webhook-fanout-lambda/src/report.rs")["REPORT_PATH"][0];
    let routes: Vec<(String, Option<String>, &Body)> = module
        .resources("aws_apigatewayv2_route")
        .into_iter()
        .map(|(_, body)| {
            let key = literal_through_locals(module, attr(body, "route_key").unwrap())
                .expect("a literal route key");
            let authorization = match attr(body, "authorization_type") {
                Some(Expression::String(s)) => Some(s.clone()),
                None => None,
                Some(other) => panic!("computed authorization_type {other}"),
            };
            (key, authorization, body)
        })
        .collect();
    let open =
        |authorization: &Option<String>| authorization.as_deref().is_none_or(|a| a == "NONE");
    let mut report_route = false;
    let mut closed_rest = false;
    for (key, authorization, body) in &routes {
        let Some((method, path)) = key.split_once(' ') else {
            continue; // $default
        };
        if !path.starts_with("/internal") {
            continue;
        }
        if path == report_path {
            assert_eq!(method, "POST", "{key}");
            assert!(open(authorization), "{key}: the connector checks the token");
            assert!(refers_to(
                attr(body, "target").unwrap(),
                "aws_apigatewayv2_integration",
                "connector"
            ));
            report_route = true;
        } else {
            assert_eq!(
                authorization.as_deref(),
                Some("AWS_IAM"),
                "{key}: internal paths other than the report are closed"
            );
            closed_rest |= method == "ANY" && path == "/internal/{proxy+}";
        }
    }
    assert!(report_route, "a route for POST {report_path}");
    assert!(
        closed_rest,
        "ANY /internal/{{proxy+}} must be closed, or $default forwards the internal endpoint"
    );

    // Least privilege: each role reads exactly its secrets, and the connector
    // may only send, only to the event queue.
    let statements = allow_statements(module);
    let granted = |doc: &str, action: &str| -> BTreeSet<String> {
        statements
            .iter()
            .filter(|(place, actions, _)| {
                place == &format!("data.aws_iam_policy_document.{doc}")
                    && actions.iter().any(|a| a == action)
            })
            .flat_map(|(_, _, resources)| resources.iter().cloned())
            .collect()
    };
    assert_eq!(
        granted("fanout", "secretsmanager:GetSecretValue"),
        BTreeSet::from([
            "aws_secretsmanager_secret.webhook.arn".to_owned(),
            format!("aws_secretsmanager_secret.{token_secret}.arn"),
        ]),
        "the fan-out reads the webhook key and the connector token, nothing else"
    );
    let execution = granted("connector_execution", "secretsmanager:GetSecretValue");
    let execution = execution.iter().cloned().collect::<Vec<_>>().join(" ");
    for secret in [token_secret.as_str(), "api_keys"] {
        assert!(
            execution.contains(&format!("aws_secretsmanager_secret.{secret}")),
            "ECS must be able to read aws_secretsmanager_secret.{secret}: {execution}"
        );
    }
    let connector_sqs: Vec<_> = statements
        .iter()
        .filter(|(place, actions, _)| {
            place == "data.aws_iam_policy_document.connector_task"
                && actions.iter().any(|a| a.starts_with("sqs:"))
        })
        .collect();
    assert!(
        !connector_sqs.is_empty(),
        "the connector may send to the queue"
    );
    for (_, actions, resources) in connector_sqs {
        assert_eq!(actions, &["sqs:SendMessage"], "the connector only sends");
        assert_eq!(
            resources,
            &["aws_sqs_queue.events.arn"],
            "the connector sends to the event queue only"
        );
    }

    // APP_API_KEYS: a sensitive input, a secret only when given.
    let variables = module.variables();
    let api_keys = variables.get("api_keys").expect("variable api_keys");
    assert!(
        is_true(attr(api_keys, "sensitive")),
        "api_keys is sensitive"
    );
    let keys = object_value(locals["connector_secrets"], "APP_API_KEYS").unwrap();
    assert_eq!(secrets_named(keys), BTreeSet::from(["api_keys".to_owned()]));
    let (_, keys_secret) = module
        .resources("aws_secretsmanager_secret")
        .into_iter()
        .find(|(name, _)| *name == "api_keys")
        .unwrap();
    assert!(
        attr(keys_secret, "count").is_some(),
        "no API keys, no secret (Secrets Manager takes no empty value)"
    );
}

#[test]
fn the_example_tfvars_sets_declared_variables_and_every_required_one() {
    let path = terraform_dir().join("terraform.tfvars.example");
    let text = std::fs::read_to_string(&path).expect("terraform/terraform.tfvars.example");
    let body = hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        body.blocks().count(),
        0,
        "a tfvars file holds only assignments"
    );
    let modules = modules();
    let root = root_module(&modules);
    let variables = root.variables();
    let set: BTreeSet<&str> = body.attributes().map(|a| a.key()).collect();
    for name in &set {
        assert!(
            variables.contains_key(name),
            "the example sets undeclared variable {name}"
        );
    }
    for (name, body) in &variables {
        if attr(body, "default").is_none() {
            assert!(
                set.contains(name),
                "the example lacks required variable {name}"
            );
        }
    }
    // Values, not expressions: a tfvars file cannot refer to anything.
    for attribute in body.attributes() {
        assert!(
            references(attribute.expr()).is_empty(),
            "{} refers to something",
            attribute.key()
        );
    }
}

#[test]
fn the_module_reference_lists_every_input_and_output() {
    let readme = std::fs::read_to_string(terraform_dir().join("README.md")).unwrap();
    let modules = modules();
    let module = gateway_module(&modules);
    let names = module
        .variables()
        .into_keys()
        .chain(module.outputs().into_keys());
    for name in names {
        assert!(
            readme.contains(&format!("| `{name}`")),
            "terraform/README.md has no table row for {name}"
        );
    }
}
