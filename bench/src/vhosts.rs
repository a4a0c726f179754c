//! Regenerating every site's nginx config for 1,000 and 10,000 domains, and
//! `nginx -t` on the result, for HS-Panel's map layout and for the usual layout of
//! one `server` block per domain (regex PHP location and fastcgi_params in each).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hs_config::Templates;
use hs_config::render::{self, SiteAction, SiteMap, WebLayout};

pub fn run() -> anyhow::Result<()> {
    println!("## nginx layout: regenerate every site, then `nginx -t`\n");
    println!("| domains | layout | render + write (s) | nginx -t (s) | files per domain change |");
    println!("|---|---|---|---|---|");
    for n in [1_000, 10_000] {
        let dir = std::env::temp_dir().join(format!("hs-bench-vhosts-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;

        let (render_s, test_s) = ours(&dir.join("maps"), n)?;
        println!("| {n} | HS-Panel host maps | {render_s:.3} | {test_s:.3} | 1 |");
        let (render_s, test_s) = classic(&dir.join("classic"), n)?;
        println!("| {n} | one server block each | {render_s:.3} | {test_s:.3} | 1 |");
        std::fs::remove_dir_all(&dir)?;
    }
    println!();
    Ok(())
}

fn main_conf(dir: &Path, include: &str) -> anyhow::Result<std::path::PathBuf> {
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\n\
         events {{ worker_connections 64; }}\nhttp {{\n  include /etc/nginx/mime.types;\n  \
         client_body_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp; proxy_temp_path {d}/tmp;\n  \
         scgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp;\n  include {include};\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    Ok(path)
}

fn nginx_t(dir: &Path, conf: &Path) -> anyhow::Result<f64> {
    let started = Instant::now();
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .output()?;
    anyhow::ensure!(out.status.success(), "nginx -t: {}", String::from_utf8_lossy(&out.stderr));
    Ok(started.elapsed().as_secs_f64())
}

fn ours(dir: &Path, n: usize) -> anyhow::Result<(f64, f64)> {
    let templates = Templates::builtin();
    let sites = dir.join("sites");
    std::fs::create_dir_all(&sites)?;

    let started = Instant::now();
    let layout = WebLayout {
        http_listen: "127.0.0.1:1".into(),
        site_maps: sites.clone(),
        log_dir: dir.join("logs"),
        suspended_dir: dir.join("suspended"),
        php_sockets: dir.join("php"),
        https_listen: "127.0.0.1:2".into(),
        ssl_dir: dir.join("ssl"),
        cert_maps: dir.join("cert-maps"),
        acme_webroot: dir.join("acme"),
    };
    std::fs::create_dir_all(&layout.cert_maps)?;
    std::fs::write(dir.join("hspanel.conf"), render::nginx_layout(&templates, &layout)?)?;
    for i in 0..n {
        let domain: hs_types::DomainName = format!("site{i}.bench.test").parse()?;
        let www: hs_types::DomainName = format!("www.site{i}.bench.test").parse()?;
        let user: hs_types::Username = format!("u{i}").parse()?;
        let docroot = Path::new("/home").join(user.as_str()).join("public_html");
        let view = SiteMap {
            domain: domain.clone(),
            hosts: vec![domain.clone(), www],
            user,
            action: SiteAction::Serve { docroot },
        };
        let text = render::nginx_site_map(&templates, &view)?;
        std::fs::write(sites.join(format!("{domain}.map")), text)?;
    }
    let render_s = started.elapsed().as_secs_f64();

    let conf = main_conf(dir, &dir.join("hspanel.conf").display().to_string())?;
    Ok((render_s, nginx_t(dir, &conf)?))
}

fn classic(dir: &Path, n: usize) -> anyhow::Result<(f64, f64)> {
    let sites = dir.join("sites");
    std::fs::create_dir_all(&sites)?;
    let started = Instant::now();
    for i in 0..n {
        let block = format!(
            "server {{\n  listen 127.0.0.1:1;\n  server_name site{i}.bench.test www.site{i}.bench.test;\n  \
             root /home/u{i}/public_html;\n  index index.php index.html;\n  \
             location ~ [^/]\\.php(/|$) {{\n    fastcgi_split_path_info ^(.+?\\.php)(/.*)$;\n    \
             include /etc/nginx/fastcgi_params;\n    \
             fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n    \
             fastcgi_pass unix:/run/php/u{i}.sock;\n  }}\n  location ~ /\\.ht {{ deny all; }}\n}}\n",
        );
        std::fs::write(sites.join(format!("site{i}.conf")), block)?;
    }
    let render_s = started.elapsed().as_secs_f64();
    let conf = main_conf(dir, &format!("{}/*.conf", sites.display()))?;
    Ok((render_s, nginx_t(dir, &conf)?))
}
